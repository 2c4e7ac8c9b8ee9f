"""Patients and record entries for the preventive-care and measure tests, written through the repository."""

from __future__ import annotations

from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

SYSTEM = Context.system("test")


def concept(system: str, code: str, display: str = "") -> dict:
    return {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}


def patient(patient_id: str, birth_date: str, gender: str, family: str = "Tester", mrn: str = "") -> str:
    body = {"resourceType": "Patient", "id": patient_id, "active": True, "gender": gender, "birthDate": birth_date,
            "name": [{"use": "official", "family": family, "given": [patient_id.title()]}]}
    if mrn:
        body["identifier"] = [{"system": systems.mrn_system(), "value": mrn}]
    Repository(SYSTEM).update("Patient", patient_id, body)
    return patient_id


def create(resource: dict) -> str:
    return Repository(SYSTEM).create(resource).stored.logical_id


def condition(patient_id: str, system: str, code: str, display: str = "", onset: str = "2015-01-01",
              status: str = "active") -> str:
    return create({"resourceType": "Condition", "subject": {"reference": f"Patient/{patient_id}"},
                   "clinicalStatus": concept(systems.CONDITION_CLINICAL, status),
                   "code": concept(system, code, display), "onsetDateTime": onset})


def observation(patient_id: str, code: str, on: str, value=None, unit: str = "", *, components=None,
                coded=None, category: str = "laboratory") -> str:
    body = {"resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{patient_id}"},
            "category": [concept(systems.OBSERVATION_CATEGORY, category)],
            "code": concept(systems.LOINC, code), "effectiveDateTime": on}
    if value is not None:
        body["valueQuantity"] = {"value": value, "unit": unit, "system": systems.UCUM, "code": unit or "1"}
    if coded is not None:
        body["valueCodeableConcept"] = concept(systems.SNOMED, coded)
    if components:
        body["component"] = [{"code": concept(systems.LOINC, c), "valueQuantity": {
            "value": v, "unit": "mm[Hg]", "system": systems.UCUM, "code": "mm[Hg]"}} for c, v in components]
    return create(body)


def blood_pressure(patient_id: str, on: str, systolic: int, diastolic: int) -> str:
    return observation(patient_id, "85354-9", on, components=[("8480-6", systolic), ("8462-4", diastolic)],
                       category="vital-signs")


def procedure(patient_id: str, system: str, code: str, on: str) -> str:
    return create({"resourceType": "Procedure", "status": "completed", "subject": {"reference": f"Patient/{patient_id}"},
                   "code": concept(system, code), "performedDateTime": on})


def immunization(patient_id: str, cvx: str, on: str) -> str:
    return create({"resourceType": "Immunization", "status": "completed", "patient": {"reference": f"Patient/{patient_id}"},
                   "vaccineCode": concept(systems.CVX, cvx), "occurrenceDateTime": on})


def encounter(patient_id: str, on: str) -> str:
    return create({"resourceType": "Encounter", "status": "finished",
                   "class": {"system": systems.ACT_CODE, "code": "AMB"},
                   "subject": {"reference": f"Patient/{patient_id}"},
                   "period": {"start": f"{on}T09:00:00Z", "end": f"{on}T09:20:00Z"}})
