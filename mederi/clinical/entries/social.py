"""Smoking status (US Core: Observation 72166-2 with a SNOMED CT answer) and family history
(FamilyMemberHistory: the relative, the condition and the age it began)."""

from __future__ import annotations

from dataclasses import dataclass

from mederi.clinical.entries import common, problems
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

SMOKING_STATUS = "72166-2"
SMOKING_ANSWERS = {  # the US Core smoking status value set
    "449868002": "Current every day smoker",
    "428041000124106": "Current some day smoker",
    "8517006": "Former smoker",
    "266919005": "Never smoker",
    "77176002": "Smoker, current status unknown",
    "266927001": "Unknown if ever smoked",
    "428071000124103": "Current heavy tobacco smoker",
    "428061000124105": "Current light tobacco smoker",
}
RELATIVES = {"MTH": "Mother", "FTH": "Father", "SIS": "Sister", "BRO": "Brother", "DAU": "Daughter", "SON": "Son",
             "MGRMTH": "Maternal grandmother", "MGRFTH": "Maternal grandfather", "PGRMTH": "Paternal grandmother",
             "PGRFTH": "Paternal grandfather", "AUNT": "Aunt", "UNCLE": "Uncle"}


def record_smoking_status(context: Context, patient_id: str, data, encounter_id: str | None = None) -> str:
    """Record the patient's smoking status today; the Observation id. InvalidRequest names bad fields."""
    repo = Repository(context)
    common.check_patient(repo, patient_id)
    errors = common.FieldErrors()
    answer = common.text(data, "status", 20)
    if answer not in SMOKING_ANSWERS:
        errors.add("status", "Choose the patient's smoking status from the list.")
    encounter = common.encounter_reference(repo, patient_id, encounter_id, errors)
    errors.raise_if_any()
    observation = {"resourceType": "Observation", "status": "final",
                   "category": [common.concept(systems.OBSERVATION_CATEGORY, "social-history", "Social History")],
                   "code": common.concept(systems.LOINC, SMOKING_STATUS, "Tobacco smoking status"),
                   "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": common.now_instant(),
                   "valueCodeableConcept": common.concept(systems.SNOMED, answer, SMOKING_ANSWERS[answer])}
    if encounter:
        observation["encounter"] = encounter
    recorder = common.recorder_reference(context)
    if recorder:
        observation["performer"] = [recorder]
    return common.write_all(context, [observation])[0].logical_id


@dataclass
class SmokingRow:
    id: str
    status: str
    code: str
    on: str


def smoking_history(context: Context, patient_id: str, limit: int = 10, *, audit: bool = True) -> list[SmokingRow]:
    """The smoking statuses recorded, latest first; audited."""
    found = common.search(context, "Observation", [("patient", patient_id), ("code", f"{systems.LOINC}|{SMOKING_STATUS}"),
                                                   ("_sort", "-date")], limit)
    rows = [SmokingRow(s.logical_id, common.words_of(s.as_dict().get("valueCodeableConcept")),
                       common.code_of(s.as_dict().get("valueCodeableConcept"), systems.SNOMED),
                       (s.as_dict().get("effectiveDateTime") or "")[:10]) for s in found]
    if audit:
        common.audit_shown(context, patient_id, "Observation", found, "smoking status")
    return rows


def record_family_history(context: Context, patient_id: str, data, encounter_id: str | None = None) -> str:
    """Record a relative's condition (relationship, condition, onset age); the FamilyMemberHistory id."""
    repo = Repository(context)
    common.check_patient(repo, patient_id)
    errors = common.FieldErrors()
    relative = common.text(data, "relationship", 10)
    if relative not in RELATIVES:
        errors.add("relationship", "Choose how the relative is related to the patient.")
    condition = common.text(data, "condition")
    if not condition:
        errors.add("condition", "Name the relative's condition (e.g. Coronary artery disease).")
    onset = common.decimal_in(data, "onset_age", "The age it began", errors)
    if onset is not None and not (0 <= onset <= 120 and onset == onset.to_integral_value()):
        errors.add("onset_age", f"The age it began is a whole number of years from 0 to 120, not {onset}.")
    errors.raise_if_any()
    known = next((p for p in problems.starter_list() if p.display.lower() == condition.lower()), None)
    code = {"coding": [{"system": systems.SNOMED, "code": known.snomed, "display": known.display}],
            "text": known.display} if known else {"text": condition}
    entry = {"code": code}
    if onset is not None:
        entry["onsetAge"] = {"value": int(onset), "unit": "years", "system": systems.UCUM, "code": "a"}
    history = {"resourceType": "FamilyMemberHistory", "status": "completed",
               "patient": {"reference": f"Patient/{patient_id}"}, "date": common.now_instant(),
               "relationship": common.concept(systems.FAMILY_RELATIONSHIP, relative, RELATIVES[relative]),
               "condition": [entry]}
    return common.write_all(context, [history])[0].logical_id


@dataclass
class FamilyRow:
    id: str
    relative: str
    condition: str
    onset_age: str


def family_history(context: Context, patient_id: str, limit: int = 100, *, audit: bool = True) -> list[FamilyRow]:
    found = common.search(context, "FamilyMemberHistory", [("patient", patient_id), ("_sort", "-_lastUpdated")], limit)
    rows = []
    for stored in found:
        h = stored.as_dict()
        for c in h.get("condition") or [{}]:
            age = (c.get("onsetAge") or {}).get("value")
            rows.append(FamilyRow(stored.logical_id, common.words_of(h.get("relationship")), common.words_of(c.get("code")),
                                  f"{age}" if age is not None else ""))
    if audit:
        common.audit_shown(context, patient_id, "FamilyMemberHistory", found, "family history")
    return rows
