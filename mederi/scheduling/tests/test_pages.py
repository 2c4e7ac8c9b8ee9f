"""The scheduling pages as staff use them: who may see and do what, and what a refusal looks like."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from mederi.audit.models import AuditEntry
from mederi.conftest import record_row_counts, staff_user
from mederi.fhir.repository import Repository
from mederi.scheduling import services
from mederi.scheduling.models import WaitlistEntry
from mederi.scheduling.tests.conftest import SYSTEM, at

pytestmark = pytest.mark.django_db


def signed_in(username: str, *roles: str) -> Client:
    client = Client()
    client.force_login(staff_user(username, *roles))
    return client


def booking_form(day, **changes) -> dict:
    return {"patient_id": "pat-a", "practitioner_id": "dr-ruiz", "location_id": "clinic-main", "type_code": "fu",
            "date": day.isoformat(), "time": "10:30", "comment": "", **changes}


def test_a_nurse_reads_the_day_calendar_and_the_read_is_audited(practice):
    appointment_id = services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10, 30), "fu")
    nurse = signed_in("nina", "nurse")
    response = nurse.get(f"/schedule/?location=clinic-main&date={practice.isoformat()}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Dr Ruiz" in page and "Dr Okafor" in page
    assert "Peter Chalmers" in page and "Follow-up" in page and "Booked" in page
    assert f"/schedule/appointments/{appointment_id}/" in page
    assert "type-blue" in page  # the type's colour, as a class
    assert 'style="' not in page and "<script>" not in page
    entry = AuditEntry.objects.filter(action="search", actor_name="nina").last()
    assert f"Appointment/{appointment_id}" in entry.references and "Patient/pat-a" in entry.references
    assert entry.query.startswith("ui: day calendar location=clinic-main")


def test_an_auditor_can_neither_see_the_schedule_nor_book(practice):
    auditor = signed_in("audrey", "auditor")
    assert auditor.get("/schedule/").status_code == 403
    before = record_row_counts()
    response = auditor.post("/schedule/book/", booking_form(practice))
    assert response.status_code == 403
    assert record_row_counts() == before


def test_the_front_desk_books_from_the_form(practice):
    desk = signed_in("fran", "front_desk")
    page = desk.get(f"/schedule/book/?practitioner=dr-ruiz&location=clinic-main&type=fu&start={practice}T10:30")
    assert page.status_code == 200
    assert 'value="10:30"' in page.content.decode()
    response = desk.post("/schedule/book/", booking_form(practice))
    assert response.status_code == 302
    appointment_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    assert Repository(SYSTEM).read("Appointment", appointment_id).as_dict()["status"] == "booked"
    detail = desk.get(response["Location"]).content.decode()
    assert "Peter Chalmers" in detail and "Check in" in detail and "Cancel the appointment" in detail


def test_a_taken_time_is_explained_at_the_time_field(practice):
    services.book_appointment(SYSTEM, "pat-b", "dr-ruiz", "clinic-main", at(practice, 10, 30), "fu")
    desk = signed_in("fran", "front_desk")
    before = record_row_counts()
    response = desk.post("/schedule/book/", booking_form(practice))
    assert response.status_code == 409
    page = response.content.decode()
    assert "That time was just booked by someone else: 10:30 with Dr Ruiz. Choose another time." in page
    assert 'role="alert" id="id_time-error"' in page
    assert 'value="10:30"' in page  # the form comes back as it was typed
    assert record_row_counts() == before


@pytest.mark.parametrize("changes, message", [
    ({"date": "2026-02-30"}, "Enter a real date"),
    ({"time": "25:61"}, "Enter a time of day"),
    ({"type_code": "surgery"}, "Select a valid choice"),
    ({"patient_id": ""}, "Choose the patient"),
    ({"time": "12:10"}, "is not working at Main clinic"),
])
def test_bad_booking_input_is_shown_at_the_field_and_nothing_is_stored(practice, changes, message):
    desk = signed_in("fran", "front_desk")
    before = record_row_counts()
    response = desk.post("/schedule/book/", booking_form(practice, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert record_row_counts() == before


def test_cancelling_from_the_page_needs_a_reason(practice):
    appointment_id = services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    desk = signed_in("fran", "front_desk")
    url = f"/schedule/appointments/{appointment_id}/cancel"
    response = desk.post(url, {"reason_code": "", "reason_text": ""})
    assert response.status_code == 400
    assert "Choose the reason for the cancellation." in response.content.decode()
    response = desk.post(url, {"reason_code": "other", "reason_text": ""})
    assert response.status_code == 400
    assert "Say in a few words why" in response.content.decode()
    assert Repository(SYSTEM).read("Appointment", appointment_id).as_dict()["status"] == "booked"
    response = desk.post(url, {"reason_code": "prov-pers", "reason_text": "Dr Ruiz is ill"})
    assert response.status_code == 302
    assert Repository(SYSTEM).read("Appointment", appointment_id).as_dict()["cancelationReason"]["text"] == \
        "Dr Ruiz is ill"
    calendar = desk.get(f"/schedule/?location=clinic-main&date={practice}").content.decode()
    assert f"/schedule/appointments/{appointment_id}/" not in calendar  # out of the grid...
    listed = desk.get(f"/schedule/cancelled/?location=clinic-main&date={practice}").content.decode()
    assert f"/schedule/appointments/{appointment_id}/" in listed and "Dr Ruiz is ill" in listed  # ...listed here


def test_visit_steps_from_the_page(practice):
    appointment_id = services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    nurse = signed_in("nina", "nurse")
    for action in ("check-in", "room"):
        assert nurse.post(f"/schedule/appointments/{appointment_id}/stage", {"action": action}).status_code == 302
    page = nurse.get(f"/schedule/appointments/{appointment_id}/").content.decode()
    assert "In room" in page and "Check out" in page
    response = nurse.post(f"/schedule/appointments/{appointment_id}/stage", {"action": "arrive"})
    assert response.status_code == 409
    assert "does not apply now" in response.content.decode()


def test_provider_day_and_week_and_location_week(practice):
    services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice + timedelta(days=2), 9), "fu")
    nurse = signed_in("nina", "nurse")
    day = nurse.get(f"/schedule/provider/dr-ruiz/?date={practice.isoformat()}")
    assert day.status_code == 200 and "Dr Ruiz" in day.content.decode()
    week = nurse.get(f"/schedule/provider/dr-ruiz/week/?date={practice.isoformat()}").content.decode()
    assert "Peter Chalmers" in week and "Sat" not in week  # empty weekend days are left out
    location_week = nurse.get(f"/schedule/week/?location=clinic-main&date={practice.isoformat()}")
    assert location_week.status_code == 200 and "Peter Chalmers" in location_week.content.decode()
    assert nurse.get("/schedule/provider/nobody/").status_code == 404


def test_a_bad_date_in_the_address_falls_back_to_today_with_a_message(practice):
    nurse = signed_in("nina", "nurse")
    response = nurse.get("/schedule/?location=clinic-main&date=2026-13-45")
    assert response.status_code == 200
    assert "2026-13-45&#x27; is not a date; showing today instead." in response.content.decode()


def test_find_next_available_page(practice):
    nurse = signed_in("nina", "nurse")
    response = nurse.get(f"/schedule/find/?type_code=new&start_date={practice}&days=7&time_of_day=afternoon")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Earliest 20 free times" in page and "13:00" in page
    bad = nurse.get("/schedule/find/?type_code=new&start_date=2026-02-30")
    assert bad.status_code == 400 and "Enter a real date" in bad.content.decode()


def test_the_patient_partial_lists_their_appointments(practice):
    services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu")
    desk = signed_in("fran", "front_desk")
    response = desk.get("/schedule/patients/pat-a/appointments", headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Follow-up" in page and "Dr Ruiz" in page and "Book an appointment" in page
    assert AuditEntry.objects.filter(action="search", patient_id="pat-a", actor_name="fran").exists()


def test_the_waitlist_page_adds_and_shows_an_offer(practice):
    appointment_id = services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu")
    desk = signed_in("fran", "front_desk")
    response = desk.post("/schedule/waitlist/", {
        "patient_id": "pat-b", "type_code": "sick", "practitioner_id": "dr-ruiz", "location_id": "",
        "earliest": practice.isoformat(), "latest": (practice + timedelta(days=5)).isoformat(), "time_of_day": ""})
    assert response.status_code == 302
    bad = desk.post("/schedule/waitlist/", {"patient_id": "pat-c", "type_code": "sick",
                                            "earliest": (practice + timedelta(days=5)).isoformat(),
                                            "latest": practice.isoformat()})
    assert bad.status_code == 400 and "is before the first" in bad.content.decode()
    assert WaitlistEntry.objects.count() == 1
    desk.post(f"/schedule/appointments/{appointment_id}/cancel", {"reason_code": "pat", "reason_text": "Travel"})
    page = desk.get("/schedule/waitlist/").content.decode()
    assert "Offered:" in page and "Accept the offer for Maria Nunez" in page


def test_templates_page_needs_scheduling_write_and_directory_read(practice):
    assert signed_in("audrey", "auditor").get("/schedule/templates/").status_code == 403
    biller = signed_in("bill", "biller")  # reads the schedule, changes nothing of it
    assert biller.get("/schedule/templates/").status_code == 403
    admin = signed_in("adele", "practice_admin")
    assert admin.get("/schedule/templates/").status_code == 200
    response = admin.post("/schedule/templates/", {"form": "hours", "hours-practitioner_id": "dr-ruiz",
                                                   "hours-location_id": "clinic-north", "hours-weekday": "5",
                                                   "hours-start": "12:00", "hours-end": "09:00"})
    assert response.status_code == 400
    assert "The end (09:00) must be after the start (12:00)." in response.content.decode()
    response = admin.post("/schedule/templates/", {"form": "hours", "hours-practitioner_id": "dr-ruiz",
                                                   "hours-location_id": "clinic-north", "hours-weekday": "5",
                                                   "hours-start": "09:00", "hours-end": "12:00"})
    assert response.status_code == 302
    assert Repository(SYSTEM).read("Schedule", "sched-dr-ruiz--clinic-north").as_dict()["active"] is True


def test_a_restricted_chart_shows_only_as_busy_time(practice):
    repo = Repository(SYSTEM)
    patient = repo.read("Patient", "pat-c").as_dict()
    patient["meta"] = {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                     "code": "R"}]}
    repo.update("Patient", "pat-c", patient)
    hidden = services.book_appointment(SYSTEM, "pat-c", "dr-ruiz", "clinic-main", at(practice, 11), "fu")
    shown = services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu")
    nurse = signed_in("nina", "nurse")
    page = nurse.get(f"/schedule/?location=clinic-main&date={practice.isoformat()}").content.decode()
    assert "Busy (restricted record)" in page and "Haddad" not in page
    assert f"/schedule/appointments/{hidden}/" not in page and f"/schedule/appointments/{shown}/" in page
    entry = AuditEntry.objects.filter(action="search", actor_name="nina").last()
    assert f"Appointment/{shown}" in entry.references and f"Appointment/{hidden}" not in entry.references


def test_the_calendar_shows_the_latest_eligibility_answer(practice, monkeypatch):
    from types import SimpleNamespace

    import mederi.billing.selectors as billing

    Repository(SYSTEM).update("Coverage", "cov-a", {
        "resourceType": "Coverage", "id": "cov-a", "status": "active", "beneficiary": {"reference": "Patient/pat-a"},
        "payor": [{"reference": "Organization/payer"}]})
    answers = {"cov-a": SimpleNamespace(status="inactive", active=False, plan_name="Acme Gold", checked_at=None)}
    monkeypatch.setattr(billing, "latest_eligibility", lambda ids, context=None: {i: answers[i] for i in ids
                                                                                  if i in answers})
    services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu")
    page = signed_in("fran", "front_desk").get(f"/schedule/?location=clinic-main&date={practice}").content.decode()
    assert "Ins inactive" in page and "Insurance not active (Acme Gold)" in page
