"""Writes of the AI app: a coding-suggestion run for a note, and a person's decision on each suggestion.

A run is stored in the record as a GuidanceResponse (the engine's output for that note version, status
success) with a Provenance whose agent is the engine (name, model and version in `who.display`) and
whose entity is the exact version of the Composition read. Both are written by the system context
"ai" (the person who asked for the run is in the audit log of the note's read), since Provenance is
a security resource a clinician or biller does not write by hand. Each suggestion is a draft row
(`models.Suggestion`). Accepting a diagnosis writes an encounter-diagnosis Condition through the
person's own Repository, which is where the charge screen finds a visit's diagnoses; accepting the
visit level keeps the row for the charge screen. Both decisions are audited (`ai-accept`,
`ai-reject`), in the same transaction as the change they describe.
"""

from __future__ import annotations

from django.db import transaction

from mederi.ai.engines import SuggestionEngine, default_engine
from mederi.ai.models import Suggestion
from mederi.audit import services as audit
from mederi.clinical.notes.narrative import plain_text
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Conflict, InvalidRequest
from mederi.fhir.repository import Repository

EMPTY_NOTE = "This note has no text yet: write the note (or save its draft) before asking for code suggestions."
MAX_TEXT = 200_000


def note_text(composition: dict) -> str:
    """The narrative of a note, section by section, as plain text (the engine's input)."""
    parts = []
    for section in composition.get("section") or ():
        body = plain_text(section)
        if body and body != "Nothing recorded.":
            parts.append(f"{section.get('title', '')}\n{body}")
    return "\n\n".join(parts)


def _ref_id(reference: dict | None, resource_type: str) -> str:
    value = (reference or {}).get("reference", "")
    return value.split("/", 1)[1] if value.startswith(f"{resource_type}/") else ""


def _stamp(moment) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def suggest_for_note(context: Context, composition_id: str, *, new_patient: bool = False,
                     engine: SuggestionEngine | None = None) -> list[Suggestion]:
    """Run the engine on a note and keep its output as drafts; refuses a note without text, storing nothing."""
    engine = engine or default_engine()
    stored = Repository(context).read("Composition", composition_id)
    composition = stored.as_dict()
    text = note_text(composition)
    if not text.strip():
        raise InvalidRequest.single(EMPTY_NOTE, expression="text")
    if len(text) > MAX_TEXT:
        raise InvalidRequest.single(f"This note is longer than {MAX_TEXT:,} characters: too long to code.")
    found = engine.suggest(text, new_patient=new_patient)
    patient_id = _ref_id(composition.get("subject"), "Patient")
    encounter_id = _ref_id(composition.get("encounter"), "Encounter")
    now = _stamp(clock.now())
    note_version = f"Composition/{composition_id}/_history/{stored.version_id}"
    engine_label = f"{engine.name} (model {engine.model}, version {engine.version})"
    system = Repository(Context.system("ai"))
    with transaction.atomic():
        run = system.create({
            "resourceType": "GuidanceResponse", "status": "success",
            "moduleUri": f"urn:mederi:ai:{engine.name}:{engine.version}",
            "subject": {"reference": f"Patient/{patient_id}"},
            **({"encounter": {"reference": f"Encounter/{encounter_id}"}} if encounter_id else {}),
            "occurrenceDateTime": now, "performer": {"display": engine_label},
            "reasonReference": [{"reference": note_version}],
            "note": [{"text": f"Draft, not accepted: {s.kind} {s.code} {s.display}"} for s in found.all()] or
                    [{"text": "No codes found in the note."}],
        }).stored
        provenance = system.create({
            "resourceType": "Provenance", "target": [{"reference": f"GuidanceResponse/{run.logical_id}"}],
            "recorded": now,
            "activity": {"text": "coding suggestions (draft until a person accepts them)"},
            "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                            "code": "assembler"}]},
                       "who": {"display": engine_label}}],
            "entity": [{"role": "source", "what": {"reference": note_version}}],
        }).stored
        rows = [Suggestion(run_id=run.logical_id, provenance_id=provenance.logical_id, composition_id=composition_id,
                           patient_id=patient_id, encounter_id=encounter_id, kind=s.kind, code=s.code,
                           display=s.display[:300], score=s.score, rank=rank, evidence_start=s.start,
                           evidence_end=s.end,
                           evidence=text[s.start:s.end][:300] if s.start is not None else "",
                           reasoning=s.reasoning)
                for rank, s in enumerate(found.all(), start=1)]
        Suggestion.objects.bulk_create(rows)
    return rows


def _decided(suggestion_id: int) -> Suggestion:
    suggestion = Suggestion.objects.select_for_update().filter(pk=suggestion_id).first()
    if suggestion is None:
        raise InvalidRequest.single("That suggestion does not exist (any more): reload the page.")
    if suggestion.status != Suggestion.DRAFT:
        raise Conflict(f"{suggestion.code} was already {suggestion.status} by {suggestion.decided_by}.")
    return suggestion


def _diagnosis(suggestion: Suggestion) -> dict:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": systems.CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": systems.CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": systems.CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": systems.ICD10CM, "code": suggestion.code, "display": suggestion.display}],
                 "text": suggestion.display},
        "subject": {"reference": f"Patient/{suggestion.patient_id}"},
        **({"encounter": {"reference": f"Encounter/{suggestion.encounter_id}"}} if suggestion.encounter_id else {}),
        "recordedDate": _stamp(clock.now()),
        "note": [{"text": f"Suggested from the note (“{suggestion.evidence}”), accepted by a person."}],
    }


def decide(context: Context, suggestion_id: int, *, accept: bool) -> Suggestion:
    """A person's decision on a draft suggestion: accepted (a diagnosis joins the visit) or rejected."""
    with transaction.atomic():
        suggestion = _decided(suggestion_id)
        if accept and suggestion.kind == "diagnosis":
            condition = Repository(context).create(_diagnosis(suggestion)).stored
            suggestion.condition_id = condition.logical_id
        suggestion.status = Suggestion.ACCEPTED if accept else Suggestion.REJECTED
        suggestion.decided_by = audit.actor_name(context)[:150]
        suggestion.decided_at = clock.now()
        suggestion.save(update_fields=["status", "decided_by", "decided_at", "condition_id"])
        audit.record(context, "ai-accept" if accept else "ai-reject", patient_id=suggestion.patient_id,
                     resource_type="GuidanceResponse", resource_ids=[suggestion.run_id],
                     detail={"suggestion": suggestion.pk, "kind": suggestion.kind, "code": suggestion.code,
                             "condition": suggestion.condition_id})
    return suggestion
