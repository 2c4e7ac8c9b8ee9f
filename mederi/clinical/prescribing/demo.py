"""Prescribing's part of the demo practice: Grace Okonkwo (demo-pat-3) takes warfarin, lisinopril
and simvastatin and is allergic to penicillin, so prescribing ibuprofen, clarithromycin or
amoxicillin for her shows the drug alerts; Dr Ruiz gets a DEA number; two pharmacies. The
pharmacy network is the built-in stand-in. Safe to run again."""

from __future__ import annotations

from datetime import date

from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

PATIENT_ID = "demo-pat-3"
DOCTOR_ID = "demo-dr-ruiz"
DEA_NUMBER = "BR1234563"  # a made-up number with a valid check digit
MEDICATIONS = [("warfarin", "855332", "warfarin sodium 5 MG Oral Tablet", "Take 1 tablet by mouth once a day."),
               ("lisinopril", "314076", "lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once a day."),
               ("simvastatin", "198211", "simvastatin 40 MG Oral Tablet", "Take 1 tablet by mouth at bedtime.")]
PHARMACIES = [("demo-pharmacy-main", "Main Street Pharmacy", "1456789", "217-555-0190", "20 Main Street"),
              ("demo-pharmacy-lake", "Lakeside Drugs", "1498765", "217-555-0191", "510 Lake Avenue")]


def _coding(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def resources(today: date) -> list[dict]:
    patient = {"reference": f"Patient/{PATIENT_ID}"}
    found = [{
        "resourceType": "MedicationRequest", "id": f"{PATIENT_ID}-{key}", "status": "active", "intent": "order",
        "medicationCodeableConcept": _coding(systems.RXNORM, code, name), "subject": patient,
        "requester": {"reference": f"Practitioner/{DOCTOR_ID}"}, "authoredOn": "2026-06-01",
        "dosageInstruction": [{"text": sig}]} for key, code, name, sig in MEDICATIONS]
    found.append({
        "resourceType": "AllergyIntolerance", "id": f"{PATIENT_ID}-penicillin", "patient": patient,
        "clinicalStatus": _coding(systems.ALLERGY_CLINICAL, "active", "Active"),
        "verificationStatus": _coding(systems.ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
        "code": _coding(systems.SNOMED, "91936005", "Allergy to penicillin"), "criticality": "high"})
    for pharmacy_id, name, ncpdp, phone, line in PHARMACIES:
        found.append({
            "resourceType": "Organization", "id": pharmacy_id, "active": True, "name": name,
            "identifier": [{"system": systems.NCPDP_ID, "value": ncpdp}],
            "type": [{"coding": [{"system": systems.PHARMACY, "code": "pharmacy", "display": "Pharmacy"}],
                      "text": "Pharmacy"}],
            "telecom": [{"system": "phone", "value": phone, "use": "work"}],
            "address": [{"line": [line], "city": "Springfield", "state": "IL", "postalCode": "62701"}]})
    return found


def load_demo(today: date | None = None) -> str:
    repo = Repository(Context.system("demo"))
    for resource in resources(today or date.today()):
        repo.update(resource["resourceType"], resource["id"], resource)
    doctor = repo.read("Practitioner", DOCTOR_ID).as_dict()
    if not any(i.get("system") == systems.DEA for i in doctor.get("identifier") or []):
        doctor["identifier"] = [*(doctor.get("identifier") or []), {"system": systems.DEA, "value": DEA_NUMBER}]
        repo.update("Practitioner", DOCTOR_ID, doctor)
    return (f"prescribing demo: {PATIENT_ID} on warfarin, lisinopril, simvastatin, allergic to penicillin "
            f"(try ibuprofen or amoxicillin at /clinical/patients/{PATIENT_ID}/prescribe/ as drruiz); "
            f"{len(PHARMACIES)} pharmacies on the stand-in network")
