"""Check-in at the desk on the demo practice: details, eligibility, copay, questionnaire, the queue."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.test import Client

from mederi.billing.models import PatientPayment
from mederi.conftest import FrozenClock
from mederi.core import clock
from mederi.core.context import Context
from mederi.demo import load_demo
from mederi.fhir.repository import Repository
from mederi.scheduling import practice_time

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(monkeypatch):
    # The practice's midday today: "an hour from now" is still today in the practice's time zone, as the
    # clinician's queue (today's visits) needs, whatever the hour the suite runs at.
    FrozenClock.install(monkeypatch, practice_time.to_utc(practice_time.local(practice_time.today(), time(12))))
    load_demo()
    start = (clock.now() + timedelta(hours=1)).replace(microsecond=0)
    Repository(Context.system()).create({
        "resourceType": "Appointment", "status": "booked",
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(minutes=20)).isoformat().replace("+00:00", "Z"),
        "participant": [{"actor": {"reference": "Patient/demo-pat-1"}, "status": "accepted"},
                        {"actor": {"reference": "Practitioner/demo-dr-ruiz"}, "status": "accepted"},
                        {"actor": {"reference": "Location/demo-clinic-main"}, "status": "accepted"}],
    }, logical_id="visit-1")
    return "visit-1"


def _as(username: str) -> Client:
    from django.contrib.auth import get_user_model

    browser = Client()
    browser.force_login(get_user_model().objects.get(username=username))
    return browser


def _status(appointment_id: str) -> str:
    return Repository(Context.system()).read("Appointment", appointment_id).as_dict()["status"]


def test_the_desk_sees_details_insurance_and_the_steps(visit):
    page = _as("frontdesk").get(f"/schedule/checkin/{visit}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Check in: Peter Chalmers" in text
    assert "SUB77000" in text  # the member id on file
    assert "/billing/eligibility/coverage/demo-pat-1-coverage" in text
    assert f"/p/invites/appointment/{visit}" in text


def test_a_copay_with_a_bad_amount_is_refused_at_the_field_and_nothing_is_taken(visit):
    payments_before = PatientPayment.objects.count()  # the demo's own patients have paid some bills
    answer = _as("frontdesk").post(f"/schedule/checkin/{visit}/copay", {"amount": "twenty", "method": "card"})
    assert answer.status_code == 400
    assert "is not an amount of money" in answer.content.decode()
    assert 'value="twenty"' in answer.content.decode()  # what was typed is kept
    assert PatientPayment.objects.count() == payments_before


def test_the_copay_is_posted_against_the_visit(visit):
    answer = _as("frontdesk").post(f"/schedule/checkin/{visit}/copay",
                                   {"amount": "25.00", "method": "card", "reference": "4242"})
    assert answer.status_code == 302
    payment = PatientPayment.objects.get(appointment_id=visit)
    assert (payment.patient_id, payment.appointment_id, str(payment.amount)) == ("demo-pat-1", visit, "25.00")
    assert payment.receipt_number in _as("frontdesk").get(f"/schedule/checkin/{visit}/").content.decode()


def test_checking_in_needs_the_details_confirmed_then_moves_the_visit_to_the_queue(visit):
    desk = _as("frontdesk")
    refused = desk.post(f"/schedule/checkin/{visit}/done", {})
    assert refused.status_code == 400 and "confirm the patient" in refused.content.decode()
    assert _status(visit) == "booked"
    done = desk.post(f"/schedule/checkin/{visit}/done", {"confirmed": "yes"})
    assert done.status_code == 302
    assert _status(visit) == "checked-in"
    assert "Checked in." in desk.get(f"/schedule/checkin/{visit}/").content.decode()


def test_a_nurse_may_see_the_check_in_but_not_take_money(visit):
    nurse = _as("nurse")
    session = nurse.session
    session["mederi_location"] = "demo-clinic-main"  # her roles are per clinic: she works at this one
    session.save()
    assert nurse.get(f"/schedule/checkin/{visit}/").status_code == 200
    payments_before = PatientPayment.objects.count()
    refused = nurse.post(f"/schedule/checkin/{visit}/copay", {"amount": "25", "method": "cash"})
    assert refused.status_code == 403
    assert PatientPayment.objects.count() == payments_before
    assert not PatientPayment.objects.filter(appointment_id=visit).exists()


def test_a_checked_in_visit_shows_in_the_clinicians_queue_until_it_is_over(visit):
    doctor = _as("drruiz")
    assert f"/schedule/appointments/{visit}/" not in doctor.get("/clinical/queue/").content.decode()
    _as("frontdesk").post(f"/schedule/checkin/{visit}/done", {"confirmed": "yes"})
    queue = doctor.get("/clinical/queue/?mine=1").content.decode()
    row = queue[queue.index(f"/schedule/appointments/{visit}/stage") - 700:]  # the visit's row, from its start
    assert "Peter Chalmers" in row[:700] and "Waiting room" in row[:700]
    north = doctor.get("/clinical/queue/?location=demo-clinic-north").content.decode()
    assert f"/schedule/appointments/{visit}/" not in north
