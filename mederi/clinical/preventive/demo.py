"""The preventive-care part of the demo practice: two patients whose charts show care gaps, and
visits on the practice's first day so the quality measures report has patients to count.

- Carmen Delgado, a 60-year-old woman: due for mammography and colorectal screening (her Pap
  test and blood pressure are up to date);
- Minh Tran, 58, with type 2 diabetes and hypertension: HbA1c 9.4%, blood pressure 152/94, a
  current smoker with no cessation counselling and no statin.
Fixed ids and dates, so loading twice changes nothing.
"""

from __future__ import annotations

from datetime import date

from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

FIRST_DAY = date(2026, 11, 2)  # the demo practice's first day (as in mederi/demo.py)
MRN_TYPE = {"coding": [{"system": systems.IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}]}


def _concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _patient(patient_id: str, mrn: str, family: str, given: str, gender: str, born: str) -> dict:
    return {"resourceType": "Patient", "id": patient_id, "active": True, "gender": gender, "birthDate": born,
            "identifier": [{"system": systems.mrn_system(), "value": mrn, "type": MRN_TYPE}],
            "name": [{"use": "official", "family": family, "given": [given]}],
            "generalPractitioner": [{"reference": "Practitioner/demo-dr-ruiz"}],
            "managingOrganization": {"reference": "Organization/demo-practice"}}


def _observation(logical_id: str, patient_id: str, code: str, display: str, on: str, category: str, **value) -> dict:
    return {"resourceType": "Observation", "id": logical_id, "status": "final",
            "category": [_concept(systems.OBSERVATION_CATEGORY, category, category.replace("-", " ").title())],
            "code": _concept(systems.LOINC, code, display), "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": on, **value}


def _blood_pressure(logical_id: str, patient_id: str, on: str, systolic: int, diastolic: int) -> dict:
    def part(code, name, number):
        return {"code": _concept(systems.LOINC, code, name),
                "valueQuantity": {"value": number, "unit": "mmHg", "system": systems.UCUM, "code": "mm[Hg]"}}

    return _observation(logical_id, patient_id, "85354-9", "Blood pressure panel", on, "vital-signs",
                        component=[part("8480-6", "Systolic blood pressure", systolic),
                                   part("8462-4", "Diastolic blood pressure", diastolic)])


def _condition(logical_id: str, patient_id: str, icd10: str, display: str, onset: str) -> dict:
    return {"resourceType": "Condition", "id": logical_id,
            "clinicalStatus": _concept(systems.CONDITION_CLINICAL, "active", "Active"),
            "category": [_concept(systems.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
            "code": _concept(systems.ICD10CM, icd10, display), "subject": {"reference": f"Patient/{patient_id}"},
            "onsetDateTime": onset, "recordedDate": onset}


def _visit(logical_id: str, patient_id: str, hour: int) -> dict:
    day = FIRST_DAY.isoformat()
    return {"resourceType": "Encounter", "id": logical_id, "status": "finished",
            "class": {"system": systems.ACT_CODE, "code": "AMB", "display": "ambulatory"},
            "type": [_concept(systems.SNOMED, "185349003", "Encounter for check up")],
            "subject": {"reference": f"Patient/{patient_id}"},
            "participant": [{"individual": {"reference": "Practitioner/demo-dr-ruiz"}}],
            "period": {"start": f"{day}T{hour:02d}:00:00Z", "end": f"{day}T{hour:02d}:20:00Z"},
            "serviceProvider": {"reference": "Organization/demo-practice"}}


def _smoking(logical_id: str, patient_id: str, on: str, code: str, display: str) -> dict:
    return _observation(logical_id, patient_id, "72166-2", "Tobacco smoking status", on, "social-history",
                        valueCodeableConcept=_concept(systems.SNOMED, code, display))


def demo_resources() -> list[dict]:
    day = FIRST_DAY.isoformat()
    carmen, minh = "demo-prev-carmen", "demo-prev-minh"
    return [
        _patient(carmen, "MRN1201", "Delgado", "Carmen", "female", f"{FIRST_DAY.year - 60}-02-14"),
        _visit(f"{carmen}-visit", carmen, 13),
        _blood_pressure(f"{carmen}-bp", carmen, f"{day}T13:05:00Z", 126, 78),
        _smoking(f"{carmen}-smoking", carmen, f"{day}T13:06:00Z", "8517006", "Former smoker"),
        _observation(f"{carmen}-pap", carmen, "19762-4", "Cervical cytology general categories",
                     f"{FIRST_DAY.year - 2}-05-10", "laboratory",
                     valueCodeableConcept={"text": "Negative for intraepithelial lesion or malignancy"}),
        _observation(f"{carmen}-phq9", carmen, "44261-6", "PHQ-9 total score", f"{day}T13:08:00Z", "survey",
                     valueQuantity={"value": 2, "unit": "{score}", "system": systems.UCUM, "code": "{score}"}),
        _patient(minh, "MRN1202", "Tran", "Minh", "male", f"{FIRST_DAY.year - 58}-09-03"),
        _visit(f"{minh}-visit", minh, 14),
        _condition(f"{minh}-diabetes", minh, "E11.65", "Type 2 diabetes mellitus with hyperglycemia", "2019-04-01"),
        _condition(f"{minh}-hypertension", minh, "I10", "Essential (primary) hypertension", "2020-06-15"),
        _blood_pressure(f"{minh}-bp", minh, f"{day}T14:05:00Z", 152, 94),
        _smoking(f"{minh}-smoking", minh, f"{day}T14:06:00Z", "449868002", "Smokes tobacco daily"),
        _observation(f"{minh}-a1c", minh, "4548-4", "Hemoglobin A1c", f"{FIRST_DAY.year}-10-26", "laboratory",
                     valueQuantity={"value": 9.4, "unit": "%", "system": systems.UCUM, "code": "%"}),
    ]


def load_demo(today: date) -> str:
    repo = Repository(Context.system("demo"))
    created = 0
    with repo.atomic():
        for resource in demo_resources():
            created += repo.update(resource["resourceType"], resource["id"], resource).status == 201
    return (f"preventive care: {created} new entries (Carmen Delgado due for mammography and colorectal screening, "
            "Minh Tran with HbA1c 9.4%)")
