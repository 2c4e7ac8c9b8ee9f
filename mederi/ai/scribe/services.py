"""Writes of the scribe: a recording taken in, turned into a transcript and a draft, and a person's
decision on each part of the draft.

Taking a recording in checks, before anything is kept, that the visit can still be written and that
the file is audio with sound in it; the slow part (transcription and drafting) runs as a huey job
that updates the recording's progress. When the job finishes, the draft is written to the record as
a preliminary DocumentReference (the transcript and the draft note as text attachments) with a
Provenance naming both engines (name, model, version) and the audio it heard (its SHA-256), by the
system context "ai". A recording the job cannot use (no speech, not English, nothing recognised) is
marked failed with the reason, its audio deleted, and nothing is written to the record.

Accepting a section writes it into the visit's draft note (the template question it belongs to);
accepting a finding writes it to the chart through the clinical services, as the person who
accepted it. Every decision is audited (ai-accept, ai-reject) with the change it made.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.datastructures import MultiValueDict

from mederi.ai.scribe import diarise, drafting, speech
from mederi.ai.scribe.models import DraftPart, Recording
from mederi.audit import services as audit
from mederi.clinical.entries import allergies, medications, problems, vitals
from mederi.clinical.notes import catalogue
from mederi.clinical.notes import selectors as note_selectors
from mederi.clinical.notes import services as notes
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Conflict, InvalidRequest
from mederi.fhir import questionnaires
from mederi.fhir.repository import Repository

log = logging.getLogger(__name__)

MAX_UPLOAD = 200 * 1024 * 1024
SECTION_TITLES = {
    "chief_complaint": "Chief complaint", "history_of_present_illness": "History of present illness",
    "review_of_systems": "Review of systems", "physical_exam": "Physical examination", "results": "Results",
    "assessment_and_plan": "Assessment and plan",
}
# The template question each section is written into (the shipped adult visit's link ids); results
# join the examination, since the templates have no results question. The assessment and plan is
# split between the assessment and plan questions (`_assessment_and_plan`).
SECTION_QUESTIONS = {"chief_complaint": "chief-complaint", "history_of_present_illness": "hpi",
                     "review_of_systems": "ros", "physical_exam": "exam", "results": "exam"}
PERMISSION = "clinical.write"
REFUSAL = "your roles do not allow you to write visit notes (it needs the permission clinical.write)"


def audio_dir() -> Path:
    folder = Path(getattr(settings, "MEDERI_SCRIBE_AUDIO_DIR", settings.VAR_DIR / "scribe-audio"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _stamp(moment) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _open_visit(context: Context, encounter_id: str) -> note_selectors.Note:
    note = note_selectors.encounter_note(Repository(context), encounter_id)
    if note.locked:
        raise Conflict("This visit's note is signed: a recording can no longer be drafted into it.")
    if note.encounter.get("status") != "in-progress":
        raise Conflict(f"This visit is {note.encounter.get('status')}: start the visit before recording it.")
    return note


def take_recording(context: Context, encounter_id: str, upload, *, content_type: str = "") -> Recording:
    """Keep an uploaded or recorded file for a visit and queue its transcription.

    `upload` is a file-like object (Django's UploadedFile). Refuses (InvalidRequest or Conflict) a
    signed or unstarted visit, an empty, oversized, unreadable or silent file; nothing is kept then.
    """
    context.require(PERMISSION, REFUSAL)
    note = _open_visit(context, encounter_id)
    data = upload.read(MAX_UPLOAD + 1)
    if not data:
        raise InvalidRequest.single("The file is empty: choose the recording of the visit.", expression="audio")
    if len(data) > MAX_UPLOAD:
        raise InvalidRequest.single(f"The file is larger than {MAX_UPLOAD // 2**20} MB: split the recording.",
                                    expression="audio")
    digest = hashlib.sha256(data).hexdigest()
    target = audio_dir() / f"{digest}.audio"
    with tempfile.NamedTemporaryFile(dir=audio_dir(), suffix=".upload", delete=False) as handle:
        handle.write(data)
    try:
        audio = speech.decode(handle.name)
        if speech.is_silent(audio):
            raise speech.SpeechRefused(speech.SILENT)
    except speech.SpeechRefused as refused:
        Path(handle.name).unlink(missing_ok=True)
        raise InvalidRequest.single(str(refused), expression="audio") from refused
    Path(handle.name).replace(target)
    recording = Recording.objects.create(
        patient_id=note.patient_id, encounter_id=encounter_id, started_by=context.user_name or "",
        created_at=clock.now(), audio_file=target.name, audio_sha256=digest,
        audio_type=(content_type or getattr(upload, "content_type", "") or "audio")[:100],
        audio_seconds=round(audio.size / speech.SAMPLE_RATE, 2))
    from mederi.ai.scribe.tasks import transcribe_recording

    transaction.on_commit(lambda: transcribe_recording(recording.pk))
    return recording


def _progress(recording: Recording, status: str, percent: int) -> None:
    recording.status, recording.progress = status, percent
    Recording.objects.filter(pk=recording.pk).update(status=status, progress=percent)


def _fail(recording: Recording, message: str) -> Recording:
    (audio_dir() / recording.audio_file).unlink(missing_ok=True)
    recording.status, recording.message, recording.audio_file = Recording.FAILED, message, ""
    recording.save(update_fields=["status", "message", "audio_file"])
    return recording


def process(recording_id: int) -> Recording:
    """Transcribe, find the speakers, draft the note, and keep the draft (the job's work)."""
    recording = Recording.objects.get(pk=recording_id)
    if recording.status != Recording.QUEUED:
        return recording
    _progress(recording, Recording.TRANSCRIBING, 1)
    began = time.perf_counter()
    try:
        audio = speech.decode(audio_dir() / recording.audio_file)
        heard = speech.transcribe(audio, progress=lambda done, total: _progress(
            recording, Recording.TRANSCRIBING, max(1, min(90, int(90 * done / max(total, 1))))))
        turns = diarise.turns(audio, heard.utterances)
        recording.transcribe_seconds = round(time.perf_counter() - began, 2)
        _progress(recording, Recording.DRAFTING, 92)
        began = time.perf_counter()
        draft = drafting.draft_note([(t.speaker, t.text) for t in turns])
    except (speech.SpeechRefused, drafting.EmptyTranscript) as refused:
        return _fail(recording, str(refused))
    except Exception:
        log.exception("scribe recording %s failed", recording_id)
        return _fail(recording, "The recording could not be transcribed because of an error in Mederi; "
                                "it has been logged. Try again, or write the note by hand.")
    recording.draft_seconds = round(time.perf_counter() - began, 2)
    recording.turns = [{"speaker": t.speaker, "text": t.text, "start": t.start, "end": t.end} for t in turns]
    with transaction.atomic():
        keep_draft(recording, draft)
        recording.status, recording.progress = Recording.READY, 100
        recording.save()
    return recording


def transcript_text(turns: list[dict]) -> str:
    return "\n".join(f"[{t['speaker']}] {t['text']}" for t in turns)


def draft_text(sections: dict[str, str]) -> str:
    return "\n\n".join(f"{SECTION_TITLES.get(key, key)}\n{text}" for key, text in sections.items() if text.strip())


def _attachment(title: str, text: str) -> dict:
    return {"attachment": {"contentType": "text/plain; charset=utf-8", "title": title,
                           "data": base64.b64encode(text.encode("utf-8")).decode("ascii")}}


def keep_draft(recording: Recording, draft: drafting.NoteDraft) -> None:
    """The draft in the record (DocumentReference and Provenance) and its parts as rows."""
    from mederi.ai.scribe.speech import ENGINE, model_version

    now = _stamp(clock.now())
    system = Repository(Context.system("ai"))
    speech_label = f"{ENGINE} (model Whisper tiny.en, version {model_version()})"
    draft_label = f"{draft.engine} (model {draft.model}, version {draft.version})"
    document = system.create({
        "resourceType": "DocumentReference", "status": "current", "docStatus": "preliminary",
        "type": {"coding": [{"system": systems.LOINC, "code": "11506-3", "display": "Progress note"}],
                 "text": "Draft visit note from a recording (not accepted)"},
        "subject": {"reference": f"Patient/{recording.patient_id}"}, "date": now,
        "description": "AI scribe draft: a person accepts or rejects each part",
        "content": [_attachment("Transcript", transcript_text(recording.turns)),
                    _attachment("Draft note", draft_text(draft.sections))],
        "context": {"encounter": [{"reference": f"Encounter/{recording.encounter_id}"}]},
    }).stored
    provenance = system.create({
        "resourceType": "Provenance", "target": [{"reference": f"DocumentReference/{document.logical_id}"}],
        "recorded": now, "activity": {"text": "transcription and note drafting (draft until a person accepts it)"},
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "assembler"}]}, "who": {"display": label}}
                  for label in (speech_label, draft_label)],
        "entity": [{"role": "source", "what": {
            "identifier": {"system": "urn:mederi:scribe-audio:sha256", "value": recording.audio_sha256},
            "display": f"visit recording ({recording.audio_type}, {recording.audio_seconds:.0f} s)"
            if recording.audio_seconds else recording.audio_type}}],
    }).stored
    recording.document_id, recording.provenance_id = document.logical_id, provenance.logical_id
    parts = [DraftPart(recording=recording, kind=DraftPart.SECTION, key=key, display=SECTION_TITLES.get(key, key),
                       text=text, rank=rank)
             for rank, (key, text) in enumerate(draft.sections.items()) if text.strip()]
    parts += [DraftPart(recording=recording, kind=f.kind, display=f.display[:300], system=f.system or "",
                        code=f.code or "", value=(f.value or "")[:100], turn=f.turn, start=f.start, end=f.end,
                        negated=f.negated, uncertain=f.uncertain, rank=100 + rank)
              for rank, f in enumerate(draft.findings)]
    DraftPart.objects.bulk_create(parts)


# -- a person's decisions ------------------------------------------------------------------------------


def _undecided(part_id: int) -> DraftPart:
    part = DraftPart.objects.select_for_update().select_related("recording").filter(pk=part_id).first()
    if part is None:
        raise InvalidRequest.single("That part of the draft does not exist (any more): reload the page.")
    if part.status != DraftPart.DRAFT:
        raise Conflict(f"“{part.display}” was already {part.status} by {part.decided_by}.")
    return part


def _form_data(template: catalogue.Template, answers: dict[str, list[dict]]) -> MultiValueDict:
    """The note form as if the clinician had submitted what is stored (to add a section to it)."""
    filled = questionnaires.filled_from_answers(template.items(), answers)
    data = MultiValueDict()
    for name, typed in filled.typed.items():
        data[name] = typed
    for name, chosen in filled.chosen.items():
        data.setlist(name, chosen)
    for name, own in filled.other.items():
        data[name + questionnaires.OTHER_SUFFIX] = own
    return data


def _template_of(context: Context, note) -> catalogue.Template:
    if note.response is not None:
        return catalogue.by_canonical(context, note.response["questionnaire"])
    versions = catalogue.all_versions(context, catalogue.ADULT_VISIT)
    active = [t for t in versions if t.status == "active"] or versions
    if not active:
        raise Conflict("No note template is available to write the draft into: choose a template on the note page.")
    return active[0]


def _assessment_and_plan(text: str) -> dict[str, str]:
    """The draft's numbered problems go to the assessment, the lines after them to the plan."""
    lines = [line for line in text.splitlines() if line.strip()]
    assessment = [line for line in lines if re.match(r"\s*\d+[.)]", line)]
    plan = [line for line in lines if line not in assessment]
    if not assessment or not plan:
        return {"assessment-text": text}
    return {"assessment-text": "\n".join(assessment), "plan-text": "\n".join(plan)}


def _into_note(context: Context, part: DraftPart) -> str:
    recording = part.recording
    note = _open_visit(context, recording.encounter_id)
    template = _template_of(context, note)
    if part.key == "assessment_and_plan":
        writes = _assessment_and_plan(part.text)
    else:
        writes = {SECTION_QUESTIONS.get(part.key, ""): f"Results: {part.text}" if part.key == "results" else part.text}
    questions = {item.link_id for item in questionnaires.walk(template.items())}
    if not set(writes) <= questions:
        raise Conflict(f"The note's template ({template.title}) has no place for “{part.display}”: "
                       "copy the text into the note by hand.")
    data = _form_data(template, note_selectors.responses_answers(note.response))
    for link_id, text in writes.items():
        held = (data.get(link_id) or "").strip()
        data[link_id] = f"{held}\n{text}" if held else text
    saved = notes.save_draft(context, recording.encounter_id, data, template_id=template.id)
    return f"Composition/{saved.composition_id}"


def _blood_pressure(value: str) -> dict:
    systolic, _, rest = value.partition("/")
    return {"systolic": systolic.strip(), "diastolic": rest.split()[0] if rest.split() else ""}


def _vital_data(part: DraftPart) -> dict:
    if part.code == "85354-9":
        return _blood_pressure(part.value)
    vital = vitals.BY_CODE.get(part.code)
    if vital is None or not part.value:
        raise InvalidRequest.single(f"“{part.display}” has no value Mederi can record: enter it in Vital signs.")
    number = part.value.split()[0]
    data = {vital.field: number}
    if vital.field in vitals.UNIT_CHOICES and ("°F" in part.value or "[degF]" in part.value):
        data[f"{vital.field}_unit"] = "F"
    return data


def _service_request(context: Context, part: DraftPart) -> str:
    """An order the clinician agreed to, on the chart as a draft ServiceRequest to complete and send."""
    recording = part.recording
    code = {"text": part.display}
    if part.code:
        code["coding"] = [{"system": part.system, "code": part.code, "display": part.display}]
    stored = Repository(context).create({
        "resourceType": "ServiceRequest", "status": "draft", "intent": "order", "code": code,
        "subject": {"reference": f"Patient/{recording.patient_id}"},
        "encounter": {"reference": f"Encounter/{recording.encounter_id}"}, "authoredOn": _stamp(clock.now()),
        "note": [{"text": "Accepted from the visit recording's draft; send it from the order screen."}],
    }).stored
    return f"ServiceRequest/{stored.logical_id}"


def _into_chart(context: Context, part: DraftPart) -> str:
    patient_id, encounter_id = part.recording.patient_id, part.recording.encounter_id
    if part.negated:
        raise Conflict(f"“{part.display}” was said to be absent: it cannot go on the chart as present.")
    if part.kind == "problem":
        return "Condition/" + problems.add_problem(context, patient_id, {"problem": part.display, "icd10": part.code},
                                                   encounter_id)
    if part.kind == "medication":
        given = {"drug": part.display, "rxcui": part.code, "dosage": part.value}
        return "MedicationStatement/" + medications.add_medication(context, patient_id, given, encounter_id)
    if part.kind == "allergy":
        return "AllergyIntolerance/" + allergies.record_allergy(context, patient_id, {"substance": part.display},
                                                                encounter_id)
    if part.kind == "vital":
        ids = vitals.record_vitals(context, patient_id, _vital_data(part), encounter_id)
        return ", ".join(f"Observation/{i}" for i in ids)
    if part.kind == "order":
        context.require("orders.sign", "your roles do not allow you to order (it needs the permission orders.sign)")
        return _service_request(context, part)
    raise InvalidRequest.single(f"Mederi does not know how to record a “{part.kind}”.")


def decide(context: Context, part_id: int, *, accept: bool) -> DraftPart:
    """A person's decision on one part of a draft: accepted into the note or chart, or rejected."""
    context.require(PERMISSION, REFUSAL)
    with transaction.atomic():
        part = _undecided(part_id)
        if accept:
            part.written = _into_note(context, part) if part.kind == DraftPart.SECTION else _into_chart(context, part)
        part.status = DraftPart.ACCEPTED if accept else DraftPart.REJECTED
        part.decided_by = audit.actor_name(context)[:150]
        part.decided_at = clock.now()
        part.save(update_fields=["status", "decided_by", "decided_at", "written"])
        audit.record(context, "ai-accept" if accept else "ai-reject", patient_id=part.recording.patient_id,
                     resource_type="DocumentReference", resource_ids=[part.recording.document_id],
                     detail={"scribe_part": part.pk, "kind": part.kind, "code": part.code or part.key,
                             "written": part.written})
    return part
