"""Registration details of the demo practice that the shared demo loader does not write: a
guarantor for the child patient, a secondary insurance for a Medicare patient, and the consents
taken at registration. Fixed ids and fixed content, so loading twice changes nothing.
"""

from __future__ import annotations

from datetime import date

from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.patients import records


def _demo_resources(today: date) -> list[dict]:
    moment = f"{today.year}-01-02T15:00:00Z"
    mother = records.related_person(
        "demo-pat-4", "Lindqvist", "Anna",
        [records.concept("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "MTH", "Mother"),
         records.GUARANTOR_ROLE],
        phone="555-010-4400", birth_date="1984-02-11")
    secondary = records.coverage(
        {"secondary_payer": "demo-payer-acme", "secondary_member_id": "ACM-SUP-3021",
         "secondary_group_number": "MEDIGAP-F", "secondary_subscriber_relationship": "self"},
        "secondary", "demo-pat-3", "Patient/demo-pat-3", "Acme Health Plan", today)
    secondary["period"] = {"start": f"{today.year}-01-01"}
    resources = [{**mother, "id": "demo-pat-4-guarantor"}, {**secondary, "id": "demo-pat-3-coverage-2"}]
    for number in range(1, 6):
        patient_id = f"demo-pat-{number}"
        agreed = {"privacy_notice": True, "consent_to_treat": True, "sms_reminders": number != 3,
                  "email_reminders": number in (1, 2)}
        for index, consent in enumerate(records.consents(agreed, patient_id, moment)):
            resources.append({**consent, "id": f"{patient_id}-consent-{index + 1}"})
    return resources


def load_demo(today: date) -> int:
    """Write the demo registration details; how many resources were new."""
    repo = Repository(Context.system("demo"))
    created = 0
    with repo.atomic():
        for resource in _demo_resources(today):
            created += repo.update(resource["resourceType"], resource["id"], resource).status == 201
    return created
