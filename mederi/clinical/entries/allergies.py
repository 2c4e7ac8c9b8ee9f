"""Allergies and intolerances: AllergyIntolerance coded in RxNorm for drugs (from the drug catalogue),
SNOMED CT for a few common other substances (data/substances.csv), or free text; and the positive
statement "no known allergies" (SNOMED 716186003), which a later real allergy replaces."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mederi.clinical.drugs import selectors as drugs
from mederi.clinical.entries import common
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

NO_KNOWN_ALLERGY = ("716186003", "No known allergy")
CATEGORIES = {"medication": "Medication", "food": "Food", "environment": "Environment", "biologic": "Biologic"}
SEVERITIES = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}
CRITICALITIES = {"low": "Low risk", "high": "High risk", "unable-to-assess": "Unable to assess"}


@dataclass(frozen=True)
class Substance:
    name: str
    system: str
    code: str
    category: str


@cache
def _other_substances() -> tuple[Substance, ...]:
    with (Path(__file__).parent / "data" / "substances.csv").open(encoding="utf-8") as handle:
        return tuple(Substance(r["name"], systems.SNOMED, r["snomed"], r["category"]) for r in csv.DictReader(handle))


def suggestions(typed: str, limit: int = 10) -> list[Substance]:
    """Drug ingredients from the catalogue and the common other substances whose name begins with `typed`."""
    typed = typed.strip().lower()
    if len(typed) < 2:
        return []
    found = [s for s in _other_substances() if s.name.lower().startswith(typed)]
    for concept in drugs.search_drugs(typed, limit * 2):
        if concept.term_type == "IN":
            found.append(Substance(concept.name, systems.RXNORM, concept.rxcui, "medication"))
    return found[:limit]


def substance_named(name: str) -> Substance | None:
    """The coded substance a typed name stands for, when it is one we know."""
    wanted = name.strip().lower()
    return next((s for s in suggestions(wanted, 50) if s.name.lower() == wanted), None)


def _is_no_known(allergy: dict) -> bool:
    return common.code_of(allergy.get("code"), systems.SNOMED) == NO_KNOWN_ALLERGY[0]


def _is_active(allergy: dict) -> bool:
    return common.code_of(allergy.get("clinicalStatus"), systems.ALLERGY_CLINICAL) in ("", "active")


def _allergy(patient_id: str, code: dict, category: str | None = None) -> dict:
    allergy = {"resourceType": "AllergyIntolerance",
               "clinicalStatus": common.concept(systems.ALLERGY_CLINICAL, "active", "Active"),
               "verificationStatus": common.concept(systems.ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
               "code": code, "patient": {"reference": f"Patient/{patient_id}"}, "recordedDate": common.now_instant()}
    if category:
        allergy["category"] = [category]
    return allergy


def _inactivated(allergy: dict) -> dict:
    return {**allergy, "clinicalStatus": common.concept(systems.ALLERGY_CLINICAL, "inactive", "Inactive")}


def record_allergy(context: Context, patient_id: str, data, encounter_id: str | None = None) -> str:
    """Record an allergy (substance, category, reaction, severity, criticality) or "no known allergies".

    Returns the AllergyIntolerance id. InvalidRequest names each field with a problem; nothing is
    stored then. An active "no known allergies" is made inactive by the first real allergy.
    """
    repo = Repository(context)
    common.check_patient(repo, patient_id)
    errors = common.FieldErrors()
    encounter = common.encounter_reference(repo, patient_id, encounter_id, errors)
    name = common.text(data, "substance")
    no_known = str(data.get("no_known") or "").lower() in ("on", "true", "1", "yes")
    current = [(s, s.as_dict()) for s in common.search(context, "AllergyIntolerance", [("patient", patient_id)], 200)]
    active = [(s, a) for s, a in current if _is_active(a)]
    if no_known and name:
        errors.add("substance", "Record either an allergy or \"no known allergies\", not both.")
    elif no_known and any(not _is_no_known(a) for _, a in active):
        errors.add("no_known", "The patient has active allergies on the chart; mark those inactive first.")
    elif not no_known and not name:
        errors.add("substance", "Name the substance the patient reacts to, or tick \"no known allergies\".")
    category = common.text(data, "category", 20)
    severity = common.text(data, "severity", 20)
    criticality = common.text(data, "criticality", 20)
    reaction = common.text(data, "reaction")
    for field_name, value, allowed in (("category", category, CATEGORIES), ("severity", severity, SEVERITIES),
                                       ("criticality", criticality, CRITICALITIES)):
        if value and value not in allowed:
            errors.add(field_name, f"Choose one of: {', '.join(allowed.values())}.")
    if severity and not reaction:
        errors.add("reaction", "Describe the reaction that the severity belongs to (e.g. hives).")
    errors.raise_if_any()
    recorder = common.recorder_reference(context)
    if no_known:
        if any(_is_no_known(a) for _, a in active):
            return next(s.logical_id for s, a in active if _is_no_known(a))  # already said; nothing new
        allergy = _allergy(patient_id, common.concept(systems.SNOMED, *NO_KNOWN_ALLERGY))
        updates = []
    else:
        known = substance_named(name)
        code = common.concept(known.system, known.code, known.name) if known else {"text": name}
        allergy = _allergy(patient_id, code, category or (known.category if known else None))
        if criticality:
            allergy["criticality"] = criticality
        if reaction:
            allergy["reaction"] = [{"manifestation": [{"text": reaction}], **({"severity": severity} if severity else {})}]
        updates = [(_inactivated(a), s.version_id) for s, a in active if _is_no_known(a)]
    if encounter:
        allergy["encounter"] = encounter
    if recorder:
        allergy["recorder"] = recorder
    return common.write_all(context, [allergy], updates)[-1].logical_id


def mark_inactive(context: Context, patient_id: str, allergy_id: str) -> None:
    """The allergy no longer holds (outgrown, disproved); it stays on the record as inactive."""
    repo = Repository(context)
    stored = repo.read("AllergyIntolerance", allergy_id)
    allergy = stored.as_dict()
    if not common.owned_by(allergy, patient_id, key="patient"):
        common.refuse(None, "That allergy is another patient's.")
    common.write_all(context, [], [(_inactivated(allergy), stored.version_id)])


@dataclass
class AllergyRow:
    id: str
    substance: str
    coded: str  # "RxNorm 70618", "SNOMED 762952008" or ""
    category: str
    reaction: str
    severity: str
    criticality: str
    active: bool
    no_known: bool


def allergy_list(context: Context, patient_id: str, limit: int = 100, *, audit: bool = True) -> list[AllergyRow]:
    """The patient's allergies, active first; audited."""
    found = common.search(context, "AllergyIntolerance", [("patient", patient_id), ("_sort", "-_lastUpdated")], limit)
    rows = []
    for stored in found:
        a = stored.as_dict()
        rxnorm, snomed = common.code_of(a.get("code"), systems.RXNORM), common.code_of(a.get("code"), systems.SNOMED)
        reactions = a.get("reaction") or [{}]
        rows.append(AllergyRow(
            stored.logical_id, common.words_of(a.get("code")),
            f"RxNorm {rxnorm}" if rxnorm else (f"SNOMED {snomed}" if snomed else ""),
            ", ".join(a.get("category") or ()),
            "; ".join(common.words_of(m) for r in reactions for m in r.get("manifestation") or ()),
            reactions[0].get("severity", ""), a.get("criticality", ""), _is_active(a), _is_no_known(a)))
    if audit:
        common.audit_shown(context, patient_id, "AllergyIntolerance", found, "allergies")
    return sorted(rows, key=lambda r: not r.active)
