"""The lab order form: a good order becomes ServiceRequests and an ORM sent to the stand-in lab,
and the order page shows what became of it; bad input is refused at its field with nothing stored."""

from __future__ import annotations

from html import unescape

import pytest
from django.test import Client

from mederi.accounts.models import Profile
from mederi.conftest import record_row_counts, staff_user
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.interop.models import LabConnection, OutboundOrder
from mederi.interop.tests.factories import register_patient

SYSTEM = Context.system("test")


@pytest.fixture
def lab(transactional_db):
    return LabConnection.objects.create(name="Stand-in Lab", transport=LabConnection.STANDIN,
                                        sending_facility="RIVERSIDE", receiving_facility="STANDIN")


@pytest.fixture
def doctor(transactional_db):
    practitioner = Repository(SYSTEM).create({"resourceType": "Practitioner",
                                              "name": [{"family": "Ruiz", "given": ["Ana"]}]}).stored.logical_id
    user = staff_user("ruizlab", "physician")
    Profile.objects.filter(user=user).update(practitioner_id=practitioner, full_name="Ana Ruiz")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def patient_id(transactional_db):
    patient = register_patient("MRN7001", "Okafor", "Ben")
    Repository(SYSTEM).update("Encounter", "visit-1", {
        "resourceType": "Encounter", "id": "visit-1", "status": "in-progress",
        "class": {"system": systems.ACT_CODE, "code": "AMB"}, "subject": {"reference": f"Patient/{patient}"}})
    return patient


def _error_at(html: str, name: str) -> str:
    marker = f'id="id_{name}-error"'
    if marker not in html:
        return ""
    start = html.index(marker)
    return unescape(html[start:html.index("</div>", start)])


def test_a_good_order_from_a_visit_is_stored_sent_and_shown(doctor, lab, patient_id):
    chart = doctor.get(f"/clinical/patients/{patient_id}/?encounter=visit-1").content.decode()
    assert f'href="/clinical/patients/{patient_id}/lab-orders/new/?encounter=visit-1">Order lab tests' in chart
    form = doctor.get(f"/clinical/patients/{patient_id}/lab-orders/new/?encounter=visit-1").content.decode()
    assert "Prothrombin time with INR (PT/INR)" in form and "Stand-in Lab" in form
    answer = doctor.post(f"/clinical/patients/{patient_id}/lab-orders/new/?encounter=visit-1",
                         {"tests": ["24331-1", "4548-4"], "lab": str(lab.pk), "priority": "urgent",
                          "note": "Fasting since midnight", "encounter": "visit-1"})
    assert answer.status_code == 302
    order = OutboundOrder.objects.get()
    assert order.state == OutboundOrder.ACCEPTED
    assert "ORC|NW|" in order.content and "4548-4^Hemoglobin A1c^LN" in order.content
    requests = [Repository(SYSTEM).read("ServiceRequest", i).as_dict() for i in order.service_request_ids]
    assert {r["code"]["coding"][0]["code"] for r in requests} == {"24331-1", "4548-4"}
    assert {r["priority"] for r in requests} == {"urgent"}
    assert {r["encounter"]["reference"] for r in requests} == {"Encounter/visit-1"}
    page = doctor.get(answer["Location"]).content.decode()
    assert "Accepted by the lab" in page and "Hemoglobin A1c" in page and "Fasting since midnight" in page


@pytest.mark.parametrize("data, field, message", [
    ({"lab": "LAB", "priority": "routine"}, "tests", "Choose at least one test."),
    ({"tests": ["99999-9"], "lab": "LAB", "priority": "routine"}, "tests", "is not a test this practice orders"),
    ({"tests": ["4548-4"], "priority": "routine"}, "lab", "Choose the lab"),
    ({"tests": ["4548-4"], "lab": "987654", "priority": "routine"}, "lab", "Choose a lab from the list"),
    ({"tests": ["4548-4"], "lab": "LAB", "priority": "whenever"}, "priority", "routine, urgent or stat"),
    ({"tests": ["4548-4"], "lab": "LAB", "priority": "routine", "note": "x" * 1001}, "note", "under 1000 characters"),
])
def test_bad_input_is_refused_at_its_field_and_nothing_is_stored(doctor, lab, patient_id, data, field, message):
    data = {k: (str(lab.pk) if v == "LAB" else v) for k, v in data.items()}
    before = record_row_counts()
    answer = doctor.post(f"/clinical/patients/{patient_id}/lab-orders/new/", data)
    assert answer.status_code == 400
    assert message in _error_at(answer.content.decode(), field)
    assert record_row_counts() == before and not OutboundOrder.objects.exists()


def test_a_switched_off_lab_and_another_patients_visit_are_refused(doctor, lab, patient_id):
    other = register_patient("MRN7002", "Other", "Person")
    Repository(SYSTEM).update("Encounter", "visit-2", {
        "resourceType": "Encounter", "id": "visit-2", "status": "in-progress",
        "class": {"system": systems.ACT_CODE, "code": "AMB"}, "subject": {"reference": f"Patient/{other}"}})
    answer = doctor.post(f"/clinical/patients/{patient_id}/lab-orders/new/",
                         {"tests": ["4548-4"], "lab": str(lab.pk), "priority": "routine", "encounter": "visit-2"})
    assert answer.status_code == 400 and "is another patient's" in unescape(answer.content.decode())
    lab.active = False
    lab.save()
    answer = doctor.post(f"/clinical/patients/{patient_id}/lab-orders/new/",
                         {"tests": ["4548-4"], "lab": str(lab.pk), "priority": "routine"})
    assert answer.status_code == 400 and "Choose a lab from the list" in _error_at(answer.content.decode(), "lab")
    assert not OutboundOrder.objects.exists()


def test_a_nurse_may_not_order(lab, patient_id):
    nurse = Client()
    nurse.force_login(staff_user("nurse1", "nurse"))
    answer = nurse.get(f"/clinical/patients/{patient_id}/lab-orders/new/")
    assert answer.status_code == 403 and "Sign orders and prescriptions" in answer.content.decode()
