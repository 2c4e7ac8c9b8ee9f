"""Writes of a visit note: drafts, signing, addenda and amendments, co-signature.

A note is two resources of the encounter, written together: the template's answers as a
QuestionnaireResponse (in-progress while a draft, completed when signed) and the note itself as
a Composition (preliminary, then final) whose SOAP sections are written from the answers. Scored
instruments (PHQ-9, GAD-7) get their totals in the answers and, when the note is signed, as
Observations. Signing goes through `mederi.clinical.services.sign_document`; after it the note is
read-only and changes are addenda (relatesTo appends) or amendments (relatesTo replaces), new
Compositions signed in their turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.html import escape

from mederi.accounts.models import Profile
from mederi.audit import services as audit
from mederi.clinical.notes import catalogue, encounters, narrative, scoring, supervision
from mederi.clinical.notes.selectors import encounter_note
from mederi.clinical.services import PERMISSION, sign_document
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Conflict, Forbidden, InvalidRequest, Issue
from mederi.fhir import questionnaires
from mederi.fhir.repository import Repository

ADDENDUM_KINDS = {"appends": "Addendum", "replaces": "Amendment"}
MAX_ADDENDUM = 10000


class NoteInvalid(InvalidRequest):
    """Answers that cannot be kept (or, to sign, are missing); `filled` has a message per question."""

    def __init__(self, filled: questionnaires.Filled, template: catalogue.Template):
        super().__init__(issues=[Issue(message, expression=link_id) for link_id, message in filled.errors.items()])
        self.filled = filled
        self.template = template


@dataclass
class Saved:
    composition_id: str
    response_id: str
    filled: questionnaires.Filled
    scores: list[scoring.Score]


def _practitioner_of(context: Context) -> str:
    profile = Profile.objects.filter(user_id=context.user_id).first() if context.user_id else None
    return getattr(profile, "practitioner_id", "") or ""


def _author(context: Context, encounter: dict) -> dict:
    practitioner_id = _practitioner_of(context)
    if practitioner_id:
        return {"reference": f"Practitioner/{practitioner_id}"}
    for participant in encounter.get("participant") or ():
        if (participant.get("individual") or {}).get("reference", "").startswith("Practitioner/"):
            return {"reference": participant["individual"]["reference"]}
    return {"display": audit.actor_name(context) or "unknown author"}


def _had_input(filled: questionnaires.Filled, link_id: str) -> bool:
    return bool((filled.typed.get(link_id) or "").strip() or filled.chosen.get(link_id)
                or (filled.other.get(link_id) or "").strip())


def read_note_form(template: catalogue.Template, data, *, final: bool) -> tuple[questionnaires.Filled,
                                                                                 list[scoring.Score]]:
    """The answers of a submitted note form with the scores filled in.

    A draft keeps whatever was typed correctly and refuses only what is wrong; signing also needs
    every required answer.
    """
    items = template.items()
    filled = questionnaires.read_answers(items, data)
    if not final:
        filled.errors = {k: v for k, v in filled.errors.items() if _had_input(filled, k)}
    if filled.errors:
        raise NoteInvalid(filled, template)
    scores = scoring.score_groups(template.resource.get("item") or [], filled.answers)
    for score in scores:
        for link_id, answers in scoring.total_items(score).items():
            filled.answers[link_id] = answers
            filled.typed[link_id] = answer_display(answers)
    return filled, scores


def answer_display(answers: list[dict]) -> str:
    return ", ".join(narrative.answer_text(a) for a in answers)


def _response(template, encounter: dict, author: dict, items: list[dict], status: str) -> dict:
    response = {"resourceType": "QuestionnaireResponse", "questionnaire": template.canonical, "status": status,
                "subject": encounter["subject"], "encounter": {"reference": f"Encounter/{encounter['id']}"},
                "authored": clock.fhir_instant(clock.now()), "author": author}
    if items:
        response["item"] = items
    return response


def _score_observations(repo: Repository, encounter: dict, response_id: str, scores: list[scoring.Score]) -> None:
    for score in scores:
        repo.create({
            "resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": systems.OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
            "code": {"coding": [{"system": systems.LOINC, "code": score.instrument.total_code,
                                 "display": score.instrument.total_display}], "text": f"{score.instrument.name} total"},
            "subject": encounter["subject"], "encounter": {"reference": f"Encounter/{encounter['id']}"},
            "effectiveDateTime": clock.fhir_instant(clock.now()), "valueInteger": score.total,
            "interpretation": [{"text": score.severity}],
            "derivedFrom": [{"reference": f"QuestionnaireResponse/{response_id}"}],
        })


def _template_for(context: Context, note, template_id: str | None) -> catalogue.Template:
    if template_id:
        return catalogue.by_id(context, template_id)
    if note.response is not None:
        return catalogue.by_canonical(context, note.response["questionnaire"])
    raise InvalidRequest.single("choose a template for the note", expression="template")


def save_draft(context: Context, encounter_id: str, data, *, template_id: str | None = None,
               final: bool = False) -> Saved:
    """Keep the note's answers and its preliminary Composition; refuses a signed note (Conflict)."""
    repo = Repository(context)
    with transaction.atomic():
        note = encounter_note(repo, encounter_id)
        if note.composition is not None and note.composition.get("status") != "preliminary":
            raise Conflict("this note is signed and can no longer be changed: add an addendum or an amendment")
        if note.encounter.get("status") != "in-progress":
            raise Conflict(f"this visit is {note.encounter.get('status')}: start the visit before writing its note")
        template = _template_for(context, note, template_id)
        filled, scores = read_note_form(template, data, final=final)
        author = _author(context, note.encounter)
        items = questionnaires.response_items(template.items(), filled)
        response = _response(template, note.encounter, author, items, "completed" if final else "in-progress")
        if note.response is not None:
            response_id = note.response["id"]
            repo.update("QuestionnaireResponse", response_id, {**response, "id": response_id})
        else:
            response_id = repo.create(response).stored.logical_id
        if final:
            _score_observations(repo, note.encounter, response_id, scores)
        entries = narrative.encounter_entries(repo, encounter_id, response_id)
        composition = {
            "resourceType": "Composition", "status": "preliminary", "type": template.note_type,
            "subject": note.encounter["subject"], "encounter": {"reference": f"Encounter/{encounter_id}"},
            "date": clock.fhir_instant(clock.now()), "author": [author], "title": template.title,
            "section": narrative.sections(template.items(), filled.answers, entries),
        }
        if note.composition is not None:
            composition_id = note.composition["id"]
            repo.update("Composition", composition_id, {**composition, "id": composition_id})
        else:
            composition_id = repo.create(composition).stored.logical_id
    return Saved(composition_id, response_id, filled, scores)


def _require_sign(context: Context, reference: str) -> None:
    if PERMISSION not in context.permissions:
        audit.record(context, "sign", "denied", resource_type="Composition", resource_ids=[reference])
        raise Forbidden(f"your roles do not allow you to sign notes (it needs the permission {PERMISSION})")


def _signing_mode(context: Context) -> str:
    supervised = supervision.supervisor_of(Repository(context), _practitioner_of(context))
    return supervision.PROFESSIONAL if supervised else supervision.LEGAL


def sign_note(context: Context, encounter_id: str, data, *, template_id: str | None = None) -> Saved:
    """Keep the final answers, record the scores, sign the note and end the visit, all or nothing."""
    _require_sign(context, f"Encounter/{encounter_id}")
    with transaction.atomic():
        saved = save_draft(context, encounter_id, data, template_id=template_id, final=True)
        sign_document(context, "Composition", saved.composition_id, mode=_signing_mode(context))
        encounters.finish_encounter(context, encounter_id)
    return saved


def add_addendum(context: Context, original_id: str, kind: str, text: str) -> str:
    """A draft addendum (appends) or amendment (replaces) of a signed note; returns its id."""
    if kind not in ADDENDUM_KINDS:
        raise InvalidRequest.single("choose an addendum or an amendment", expression="kind")
    text = questionnaires.clean_text(text or "", one_line=False)
    if not text:
        raise InvalidRequest.single("write the text of the addendum", expression="text")
    if len(text) > MAX_ADDENDUM:
        raise InvalidRequest.single(f"keep the text to {MAX_ADDENDUM} characters or fewer (it has {len(text)})",
                                    expression="text")
    repo = Repository(context)
    original = repo.read("Composition", original_id).as_dict()
    if original.get("status") not in ("final", "amended"):
        raise Conflict("only a signed note takes addenda; a draft is simply edited")
    label = ADDENDUM_KINDS[kind]
    paragraphs = [escape(line) for line in text.split("\n") if line.strip()]
    section = [{"title": label, "text": narrative.div(paragraphs)}]
    if kind == "replaces":
        section += original.get("section") or []
    addendum = {
        "resourceType": "Composition", "status": "preliminary", "type": original["type"],
        "subject": original["subject"], "date": clock.fhir_instant(clock.now()),
        "author": [_author(context, {})], "title": f"{label} to {original.get('title', 'the note')}",
        "relatesTo": [{"code": kind, "targetReference": {"reference": f"Composition/{original_id}"}}],
        "section": section,
    }
    if original.get("encounter"):
        addendum["encounter"] = original["encounter"]
    return repo.create(addendum).stored.logical_id


def sign_addendum(context: Context, addendum_id: str) -> None:
    _require_sign(context, f"Composition/{addendum_id}")
    repo = Repository(context)
    addendum = repo.read("Composition", addendum_id).as_dict()
    if not addendum.get("relatesTo"):
        raise InvalidRequest.single("this is a note, not an addendum: sign it from its visit", expression="addendum")
    if addendum.get("status") != "preliminary":
        raise Conflict("this addendum is already signed")
    sign_document(context, "Composition", addendum_id, mode=_signing_mode(context))


def cosign(context: Context, composition_id: str) -> None:
    """The supervising physician's co-signature (a legal attester) of a supervised clinician's note."""
    _require_sign(context, f"Composition/{composition_id}")
    repo = Repository(context)
    composition = repo.read("Composition", composition_id).as_dict()
    due = supervision.cosigner_due(repo, composition)
    if due is None:
        raise Conflict("this note is not awaiting a co-signature")
    if _practitioner_of(context) != due:
        audit.record(context, "sign", "denied", resource_type="Composition",
                     resource_ids=[f"Composition/{composition_id}"], query="co-signature by someone else")
        raise Forbidden("only the supervising physician named for its author can co-sign this note")
    sign_document(context, "Composition", composition_id, mode=supervision.LEGAL, countersign=True)
