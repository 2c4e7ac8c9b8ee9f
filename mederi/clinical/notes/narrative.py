"""The note's text: a Composition's SOAP sections written from the template's answers, with entries
pointing at what was recorded in the encounter."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from django.utils.html import escape

from mederi.core import systems
from mederi.fhir import questionnaires
from mederi.fhir.repository import Repository

XHTML = "http://www.w3.org/1999/xhtml"
SECTION_CODES = {"subjective": "61150-9", "objective": "61149-1", "assessment": "51848-0", "plan": "18776-5"}
# Where the resources recorded during the visit appear in the note: (type, search parameter of the encounter).
ENTRY_SECTIONS = {
    "subjective": (("AllergyIntolerance", "encounter"), ("MedicationStatement", "context")),
    "objective": (("Observation", "encounter"), ("DiagnosticReport", "encounter")),
    "assessment": (("Condition", "encounter"),),
    "plan": (("MedicationRequest", "encounter"), ("ServiceRequest", "encounter"), ("Procedure", "encounter")),
}
NOTHING = "Nothing recorded."


def div(paragraphs: list[str]) -> dict:
    """Narrative of already-escaped paragraphs."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs) or f"<p>{NOTHING}</p>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def answer_text(answer: dict) -> str:
    (key, value), = ((k, v) for k, v in answer.items() if k.startswith("value"))
    if key == "valueBoolean":
        return "Yes" if value else "No"
    if key == "valueCoding":
        return str(value.get("display") or value.get("code") or "")
    if key == "valueDecimal":
        return format(Decimal(str(value)), "f")
    return str(value)


def _lines(item: questionnaires.Item, answers: dict[str, list[dict]]) -> list[str]:
    if item.type == "group":
        inner = [line for child in item.children for line in _lines(child, answers)]
        return ([f"<b>{escape(item.text)}</b>"] + inner) if inner else []
    given = answers.get(item.link_id) or []
    if not item.is_question or not given:
        return []
    said = ", ".join(answer_text(a) for a in given)
    return [f"{escape(item.text or item.link_id)}: {escape(said).replace(chr(10), '<br/>')}"]


def sections(items: list[questionnaires.Item], answers: dict[str, list[dict]], entries: dict[str, list[str]]
             ) -> list[dict]:
    """One Composition.section per top-level group of the template (its SOAP sections)."""
    out = []
    for item in items:
        if item.type != "group":
            continue
        lines = [line for child in item.children for line in _lines(child, answers)]
        section = {"title": item.text or item.link_id}
        code = SECTION_CODES.get(item.link_id)
        if code:
            section["code"] = {"coding": [{"system": systems.LOINC, "code": code, "display": item.text}]}
        section["text"] = div(lines)
        refs = entries.get(item.link_id) or []
        if refs:
            section["entry"] = [{"reference": ref} for ref in refs]
        out.append(section)
    return out


def encounter_entries(repo: Repository, encounter_id: str, response_id: str | None) -> dict[str, list[str]]:
    """References to what the visit recorded, by the SOAP section that shows them."""
    entries: dict[str, list[str]] = {}
    for section, kinds in ENTRY_SECTIONS.items():
        refs = []
        for resource_type, parameter in kinds:
            found = repo.search(resource_type, [(parameter, f"Encounter/{encounter_id}"), ("_count", "100")],
                                first_page_only=True).matches
            refs += [f"{resource_type}/{s.logical_id}" for s in found]
        entries[section] = refs
    if response_id:
        entries.setdefault("subjective", []).insert(0, f"QuestionnaireResponse/{response_id}")
    return entries


def plain_text(section: dict) -> str:
    """A section's narrative without markup, for pages and tests."""
    text = re.sub(r"<br/>|</p>", "\n", section.get("text", {}).get("div", ""))
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
