"""A small chart to prescribe for: Grace on warfarin, lisinopril and simvastatin, allergic to
penicillin; Dr Ruiz (NPI and DEA) signed in as a physician; two pharmacies."""

from __future__ import annotations

from decimal import Decimal

from mederi.accounts.context import context_for_user
from mederi.accounts.models import Profile
from mederi.clinical.prescribing import pharmacies
from mederi.clinical.prescribing.services import Prescription
from mederi.conftest import staff_user
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

RXNORM = systems.RXNORM
CURRENT = [("855332", "warfarin sodium 5 MG Oral Tablet"), ("314076", "lisinopril 10 MG Oral Tablet"),
           ("198211", "simvastatin 40 MG Oral Tablet")]


def _put(repo: Repository, resource: dict) -> None:
    repo.update(resource["resourceType"], resource["id"], resource)


def make_chart(with_dea: bool = True) -> dict:
    repo = Repository(Context.system("test"))
    _put(repo, {"resourceType": "Organization", "id": "practice", "name": "Riverside Family Medicine",
                "address": [{"line": ["12 River Road"], "city": "Springfield", "state": "IL", "postalCode": "62701"}],
                "telecom": [{"system": "phone", "value": "555-0100"}]})
    identifiers = [{"system": systems.NPI, "value": "1234567893"}]
    if with_dea:
        identifiers.append({"system": systems.DEA, "value": "BR1234563"})
    _put(repo, {"resourceType": "Practitioner", "id": "dr-ruiz", "name": [{"family": "Ruiz", "given": ["Ana"]}],
                "identifier": identifiers})
    _put(repo, {"resourceType": "PractitionerRole", "id": "dr-ruiz-role", "practitioner": {"reference": "Practitioner/dr-ruiz"},
                "organization": {"reference": "Organization/practice"}})
    _put(repo, {"resourceType": "Patient", "id": "grace", "name": [{"family": "Okonkwo", "given": ["Grace"]}],
                "gender": "female", "birthDate": "1951-07-02", "managingOrganization": {"reference": "Organization/practice"}})
    _put(repo, {"resourceType": "Encounter", "id": "visit-1", "status": "in-progress",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "subject": {"reference": "Patient/grace"}})
    for index, (code, name) in enumerate(CURRENT):
        _put(repo, {"resourceType": "MedicationRequest", "id": f"grace-med-{index}", "status": "active",
                    "intent": "order", "subject": {"reference": "Patient/grace"},
                    "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": name}]}})
    _put(repo, {"resourceType": "AllergyIntolerance", "id": "grace-penicillin", "patient": {"reference": "Patient/grace"},
                "clinicalStatus": {"coding": [{"system": systems.ALLERGY_CLINICAL, "code": "active"}]},
                "code": {"coding": [{"system": systems.SNOMED, "code": "91936005", "display": "Allergy to penicillin"}]}})
    doctor = staff_user("ruiz", "physician")
    Profile.objects.filter(user=doctor).update(practitioner_id="dr-ruiz")
    admin = context_for_user(staff_user("admin", "practice_admin"))
    main = pharmacies.save_pharmacy(admin, {"name": "Main Street Pharmacy", "ncpdp": "1234567", "phone": "217-555-0199"})
    other = pharmacies.save_pharmacy(admin, {"name": "Lakeside Drugs", "ncpdp": "7654321"})
    return {"doctor": doctor, "context": context_for_user(doctor), "pharmacy": main, "other_pharmacy": other}


def prescription(rxcui: str = "197806", **changes) -> Prescription:
    """Ibuprofen 600 mg, one tablet three times a day for 10 days, 30 tablets, no refills."""
    values = {"rxcui": rxcui, "dose": Decimal("1"), "dose_unit": "tablet", "route": "26643006", "frequency": "tid",
              "days": 10, "quantity": Decimal("30"), "quantity_unit": "tablet", "refills": 0,
              "substitution_allowed": True, "note": "", "pharmacy_id": ""}
    values.update(changes)
    return Prescription(**values)
