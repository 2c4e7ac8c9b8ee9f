"""Staff pages: lab connections, refused messages with replay, and the clinician's results inbox."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mederi.accounts.models import Profile
from mederi.audit.models import AuditEntry
from mederi.conftest import record_row_counts, staff_user
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.interop import inbound, orders
from mederi.interop.models import DeadLetter, LabConnection
from mederi.interop.tests.factories import CHOLESTEROL, oru, register_patient

pytestmark = pytest.mark.django_db

LAB = {"name": "Acme Lab", "transport": "mllp", "host": "lab.example.com", "port": "2575",
       "sending_application": "MEDERI", "sending_facility": "RIVERSIDE", "receiving_application": "LIS",
       "receiving_facility": "ACME", "timeout_seconds": "30", "active": "on"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin():
    return signed_in(staff_user("admin", "practice_admin"))


@pytest.fixture
def doctor():
    practitioner = Repository(Context.system("test")).create({
        "resourceType": "Practitioner", "name": [{"family": "Ruiz", "given": ["Ana"]}]}).stored.logical_id
    user = staff_user("ruiz", "physician")
    Profile.objects.filter(user=user).update(practitioner_id=practitioner, full_name="Ana Ruiz")
    return user, practitioner


def test_an_administrator_adds_a_lab_connection(admin):
    response = admin.post("/interop/labs/new/", LAB)
    assert response.status_code == 302
    lab = LabConnection.objects.get()
    assert (lab.host, lab.port, lab.receiving_facility) == ("lab.example.com", 2575, "ACME")
    assert "Acme Lab" in admin.get("/interop/labs/").content.decode()
    assert AuditEntry.objects.filter(action="interface-change").exists()


@pytest.mark.parametrize("change, words", [
    ({"host": ""}, "MLLP needs the lab&#x27;s host name"),
    ({"port": "70000"}, "a port from 1 to 65535"),
    ({"receiving_facility": "AC|ME"}, "may not contain"),
    ({"timeout_seconds": "0"}, "between 1 and 300 seconds"),
])
def test_a_bad_lab_connection_is_refused_beside_the_field_and_nothing_is_saved(admin, change, words):
    response = admin.post("/interop/labs/new/", {**LAB, **change})
    assert response.status_code == 400
    assert words in response.content.decode() and "Nothing was saved" in response.content.decode()
    assert not LabConnection.objects.exists()


def test_a_nurse_cannot_reach_the_interface_pages():
    client = signed_in(staff_user("shah", "nurse"))
    assert client.get("/interop/labs/").status_code == 403
    assert client.get("/interop/refused/").status_code == 403


def test_a_refused_message_is_reviewed_and_replayed_from_its_page(admin):
    inbound.receive(oru(CHOLESTEROL, mrn="MRN3003"))
    letter = DeadLetter.objects.get()
    listing = admin.get("/interop/refused/").content.decode()
    assert "PID-3" in listing and "MRN3003" in listing
    page = admin.get(f"/interop/refused/{letter.pk}/").content.decode()
    assert "OBX|1|NM|2093-3" in page and "Replay it now" in page

    still = admin.post(f"/interop/refused/{letter.pk}/replay", follow=True)
    assert "Still refused" in still.content.decode()
    register_patient("MRN3003")
    done = admin.post(f"/interop/refused/{letter.pk}/replay", follow=True)
    assert "Replayed and stored: 1 report" in done.content.decode()
    letter.refresh_from_db()
    assert letter.state == DeadLetter.REPLAYED


def test_the_inbox_lists_abnormal_results_first_and_signing_removes_them(doctor, django_capture_on_commit_callbacks):
    user, practitioner = doctor
    client = signed_in(user)
    patient_id = register_patient("MRN1001", family="Chalmers", given="Peter")
    lab = LabConnection.objects.create(name="Stand-in", transport=LabConnection.STANDIN, sending_facility="R",
                                       receiving_facility="S")
    context = Context(user_id=user.pk, permissions=frozenset({"orders.sign", "clinical.write", "clinical.read",
                                                              "demographics.read"}))
    with django_capture_on_commit_callbacks(execute=True):
        orders.place_lab_order(context, patient_id, ["3016-3"], lab.pk)  # all within range
    with django_capture_on_commit_callbacks(execute=True):
        orders.place_lab_order(context, patient_id, ["4548-4"], lab.pk)  # A1c 7.2 %, high

    page = client.get("/clinical/inbox/").content.decode()
    assert page.index("Hemoglobin A1c") < page.index("Thyroid stimulating hormone")
    assert "Peter Chalmers" in page and "1 abnormal" in page

    report_id = re.search(r'href="/clinical/inbox/([0-9a-f-]{36})/"', page).group(1)
    detail = client.get(f"/clinical/inbox/{report_id}/").content.decode()
    assert "<strong>7.2 %</strong>" in detail and "High" in detail and "4.0-5.6" in detail

    before = record_row_counts()["ResourceHistory"]
    signed = client.post(f"/clinical/inbox/{report_id}/sign", follow=True).content.decode()
    assert "Reviewed and signed" in signed and "Hemoglobin A1c" not in signed.split("<h1>")[1]
    assert record_row_counts()["ResourceHistory"] == before + 1
    report = Repository(Context.system("test")).read("DiagnosticReport", report_id).as_dict()
    assert report["resultsInterpreter"][0]["reference"] == f"Practitioner/{practitioner}"
    again = client.post(f"/clinical/inbox/{report_id}/sign", follow=True).content.decode()
    assert "already reviewed by Ana Ruiz" in again
