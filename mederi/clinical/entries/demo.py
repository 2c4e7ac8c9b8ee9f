"""The chart part of the demo practice: vitals over two years (for the trend plots), coded problems,
medication lists, immunizations, smoking status and family history for demo patients 1-5.
Fixed ids and content derived from `today`'s year, so loading twice changes nothing."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from mederi.clinical.entries import common, immunizations, problems, social, vitals
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

# patient: (height cm, first weight kg, monthly weight change, systolic, diastolic, problems, drugs, vaccines, smoking)
CHARTS = {
    "demo-pat-1": (178, "92.0", "-0.6", 148, 94, ["I10", "E78.5"],
                   [("314076", "lisinopril 10 MG Oral Tablet", "1 tablet by mouth daily")], ["150", "115"], "8517006"),
    "demo-pat-2": (165, "61.0", "0.1", 112, 72, ["J45.909", "J30.9"],
                   [("745679", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "2 puffs every 4 hours as needed")],
                   ["150", "208"], "266919005"),
    "demo-pat-3": (160, "78.0", "0.3", 136, 84, ["E11.9", "I10", "E55.9"],
                   [("860975", "metformin 500 MG Oral Tablet", "1 tablet twice daily with meals")],
                   ["150", "216", "187"], "266919005"),
    "demo-pat-4": (118, "21.0", "0.2", 98, 62, [], [], ["03", "20", "21"], None),
    "demo-pat-5": (172, "88.0", "0.2", 132, 86, ["E78.5", "F17.210"],
                   [("617312", "atorvastatin 20 MG Oral Tablet", "1 tablet by mouth at night")], ["150"], "449868002"),
}
FAMILY = {"demo-pat-1": ("FTH", "Coronary artery disease", 58), "demo-pat-3": ("MTH", "Type 2 diabetes mellitus "
                                                                               "without complications", 50)}


def _with_id(resource: dict, logical_id: str) -> dict:
    return {**resource, "id": logical_id}


def _vitals(patient_id: str, height: int, weight: str, change: str, systolic: int, diastolic: int, today: date):
    resources = []
    for visit in range(6):  # every four months over two years, the oldest first
        day = today - timedelta(days=120 * (6 - visit))
        when = datetime.combine(day, time(9, 30), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        kg = Decimal(weight) + Decimal(change) * 4 * visit
        values = {"systolic": Decimal(systolic - 2 * visit + (visit % 2) * 3), "diastolic": Decimal(diastolic - visit),
                  "heart_rate": Decimal(70 + visit % 3 * 4), "height": Decimal(height), "weight": vitals.rounded(kg, 2),
                  "spo2": Decimal(97 + visit % 2)}
        values["bmi"] = vitals.body_mass_index(values["height"], values["weight"])
        for index, observation in enumerate(vitals.observations_of(patient_id, values, when)):
            resources.append(_with_id(observation, f"{patient_id}-vitals-{visit}-{index}"))
    return resources


def _chart(patient_id: str, today: date) -> list[dict]:
    height, weight, change, systolic, diastolic, codes, drugs, vaccines, smoking = CHARTS[patient_id]
    resources = _vitals(patient_id, height, weight, change, systolic, diastolic, today)
    errors = common.FieldErrors()
    for code in codes:
        known = next(p for p in problems.starter_list() if p.icd10 == code)
        condition = problems.condition_of(patient_id, {"problem": known.label, "onset": f"{today.year - 4}-03-01"},
                                          errors)
        resources.append(_with_id({**condition, "recordedDate": f"{today.year - 4}-03-01"}, f"{patient_id}-pl-{code}"))
    for rxcui, name, dosage in drugs:
        resources.append({"resourceType": "MedicationStatement", "id": f"{patient_id}-ms-{rxcui}", "status": "active",
                          "medicationCodeableConcept": common.concept(systems.RXNORM, rxcui, name),
                          "subject": {"reference": f"Patient/{patient_id}"}, "dosage": [{"text": dosage}],
                          "effectivePeriod": {"start": f"{today.year - 3}-05-01"},
                          "dateAsserted": f"{today.year - 1}-01-10"})
    for index, cvx in enumerate(vaccines):
        vaccine = immunizations.vaccines()[cvx]
        resources.append({"resourceType": "Immunization", "id": f"{patient_id}-imm-{cvx}", "status": "completed",
                          "vaccineCode": common.concept(systems.CVX, cvx, vaccine.name),
                          "patient": {"reference": f"Patient/{patient_id}"},
                          "occurrenceDateTime": (today - timedelta(days=60 + 200 * index)).isoformat(),
                          "lotNumber": f"DEMO{cvx}{index}", "primarySource": True,
                          "site": common.concept(immunizations.SITE_SYSTEM, "LD", immunizations.SITES["LD"])})
    if smoking:
        resources.append({"resourceType": "Observation", "id": f"{patient_id}-smoking", "status": "final",
                          "category": [common.concept(systems.OBSERVATION_CATEGORY, "social-history", "Social History")],
                          "code": common.concept(systems.LOINC, social.SMOKING_STATUS, "Tobacco smoking status"),
                          "subject": {"reference": f"Patient/{patient_id}"},
                          "effectiveDateTime": (today - timedelta(days=30)).isoformat(),
                          "valueCodeableConcept": common.concept(systems.SNOMED, smoking,
                                                                 social.SMOKING_ANSWERS[smoking])})
    if patient_id in FAMILY:
        relative, condition, age = FAMILY[patient_id]
        known = next(p for p in problems.starter_list() if p.display == condition)
        resources.append({"resourceType": "FamilyMemberHistory", "id": f"{patient_id}-family", "status": "completed",
                          "patient": {"reference": f"Patient/{patient_id}"},
                          "relationship": common.concept(systems.FAMILY_RELATIONSHIP, relative, social.RELATIVES[relative]),
                          "condition": [{"code": common.concept(systems.SNOMED, known.snomed, known.display),
                                         "onsetAge": {"value": age, "unit": "years", "system": systems.UCUM,
                                                      "code": "a"}}]})
    return resources


def load_demo(today: date) -> str:
    """Write the demo charts; a line saying how many resources were new."""
    today = date(2026, 11, 2)  # the demo practice's first day: fixed, so reloading is a no-op
    repo = Repository(Context.system("demo"))
    created = 0
    with repo.atomic():
        for patient_id in CHARTS:
            for resource in _chart(patient_id, today):
                created += repo.update(resource["resourceType"], resource["id"], resource).status == 201
    return f"charts: {created} new entries (vitals over two years, problems, medications, immunizations)"
