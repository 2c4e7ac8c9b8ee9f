"""Reads of visit notes: an encounter with its note, answers and addenda, as the visit page shows it.

Every read goes through the caller's `Repository`, so it is authorized; the pages audit what they show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mederi.audit import services as audit
from mederi.clinical import selectors as signatures
from mederi.clinical.notes import narrative, supervision
from mederi.core.context import Context
from mederi.fhir.repository import Repository


@dataclass
class Note:
    encounter: dict
    composition: dict | None = None  # the visit's note (the Composition that relates to no other)
    response: dict | None = None  # the template's answers
    addenda: list[dict] = field(default_factory=list)  # Compositions that append to or replace the note

    @property
    def patient_id(self) -> str:
        return (self.encounter.get("subject") or {}).get("reference", "").removeprefix("Patient/")

    @property
    def status(self) -> str:
        """draft, awaiting co-signature, signed, or none (nothing written yet)."""
        if self.composition is None:
            return "none"
        if self.composition.get("status") == "preliminary":
            return "draft"
        return "awaiting co-signature" if supervision.awaiting_cosignature(self.composition) else "signed"

    @property
    def locked(self) -> bool:
        return self.status in ("signed", "awaiting co-signature")

    @property
    def sections(self) -> list[tuple[str, str]]:
        return [(s.get("title", ""), narrative.plain_text(s)) for s in (self.composition or {}).get("section") or ()]


def encounter_note(repo: Repository, encounter_id: str) -> Note:
    note = Note(encounter=repo.read("Encounter", encounter_id).as_dict())
    reference = f"Encounter/{encounter_id}"
    compositions = repo.search("Composition", [("encounter", reference), ("_count", "100")],
                               first_page_only=True).matches
    for stored in sorted(compositions, key=lambda s: s.last_updated):
        body = stored.as_dict()
        if body.get("relatesTo"):
            note.addenda.append(body)
        elif note.composition is None:
            note.composition = body
    responses = repo.search("QuestionnaireResponse", [("encounter", reference), ("_count", "1")],
                            first_page_only=True).matches
    note.response = responses[0].as_dict() if responses else None
    return note


def visit_note(context: Context, encounter_id: str) -> Note:
    """The visit's note for a page; the read is audited."""
    note = encounter_note(Repository(context), encounter_id)
    shown = [f"Encounter/{encounter_id}"] + [f"Composition/{c['id']}" for c in
                                             ([note.composition] if note.composition else []) + note.addenda]
    if note.response:
        shown.append(f"QuestionnaireResponse/{note.response['id']}")
    audit.record(context, "read", patient_id=note.patient_id or None, resource_type="Composition",
                 resource_ids=shown, query="ui: visit note")
    return note


def signers(composition: dict) -> list[str]:
    """'Signed by X (legal) at T' lines of a note, from its attesters."""
    lines = []
    for attester in composition.get("attester") or ():
        who = (attester.get("party") or {}).get("display") or (attester.get("party") or {}).get("reference", "")
        kind = "co-signed" if attester.get("mode") == "legal" and len(composition.get("attester")) > 1 else "signed"
        lines.append(f"{kind.capitalize()} by {who} ({attester.get('mode')}) at {attester.get('time', '')}")
    return lines


def signature_rows(composition_id: str):
    return signatures.signatures_of("Composition", composition_id)


def responses_answers(response: dict | None) -> dict[str, list[dict]]:
    """{linkId: answers} of a stored QuestionnaireResponse, nested items included."""
    found: dict[str, list[dict]] = {}

    def walk(items):
        for item in items or ():
            if item.get("answer"):
                found[item["linkId"]] = item["answer"]
            walk(item.get("item"))

    walk((response or {}).get("item"))
    return found


def encounter_of_composition(context: Context, composition_id: str) -> str:
    composition = Repository(context).read("Composition", composition_id).as_dict()
    return (composition.get("encounter") or {}).get("reference", "").removeprefix("Encounter/")
