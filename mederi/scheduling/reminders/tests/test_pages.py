"""The pages as the front desk meets them: an appointment's reminders, "Send reminder now", the rules
and the local outbox; with the permissions each needs."""

from datetime import timedelta

import pytest
from django.test import Client

from mederi.audit.models import AuditEntry
from mederi.conftest import staff_user
from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.models import LocalOutboxMessage, ReminderMessage, ReminderRule

from .conftest import NOW, make_patient, make_rule, read_appointment

FRIDAY_9 = NOW + timedelta(days=4, hours=1)
HTMX = {"HX-Request": "true"}


@pytest.fixture
def local_standin(settings):
    settings.MEDERI_SMS_PROVIDER = "standin-inprocess"
    settings.MEDERI_EMAIL_PROVIDER = "standin-inprocess"


def signed_in(*roles: str, name: str = "desk") -> Client:
    client = Client()
    client.force_login(staff_user(name, *roles))
    return client


@pytest.fixture
def desk(practice, local_standin):
    return signed_in("front_desk")


def test_the_partial_lists_each_reminder_with_its_status_and_reason(desk):
    make_patient("pat-1", email=None)
    make_rule("Email 3 days before", channel="email", amount=3, unit="days")
    make_rule("SMS 2 hours before")
    services.schedule_reminders("appt-1")
    response = desk.get("/schedule/reminders/appointment/appt-1", headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page  # a fragment for htmx
    assert "Email 3 days before (3 days before)" in page and "Tuesday, March 3, 2026, 9:00 AM" in page
    assert "Skipped" in page and "no email address on file" in page
    assert "SMS 2 hours before (2 hours before)" in page and "Pending" in page
    assert "Email — not possible: no email address on file" in page
    assert "Send reminder now" in page
    entry = AuditEntry.objects.filter(action="read", actor_name="desk").latest("id")
    assert (entry.patient_id, entry.query) == ("pat-1", "ui: reminders of an appointment")
    assert "Appointment/appt-1" in entry.resource_ids
    full = desk.get("/schedule/reminders/appointment/appt-1")
    assert "<html" in full.content.decode() and "Appointment reminders" in full.content.decode()


def test_send_now_sends_and_shows_it(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post("/schedule/reminders/appointment/appt-1/send", {"channel": "sms"}, headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "sent by hand by desk" in page and "Pending" in page  # a worker sends it right after
    assert LocalOutboxMessage.objects.get().to == "+15551230001"
    assert "Delivered" in desk.get("/schedule/reminders/appointment/appt-1", headers=HTMX).content.decode()


def test_send_now_by_an_impossible_channel_is_skipped_and_says_why(desk, django_capture_on_commit_callbacks):
    make_patient("pat-1", mobile=None)
    with django_capture_on_commit_callbacks(execute=True):
        desk.post("/schedule/reminders/appointment/appt-1/send", {"channel": "sms"}, headers=HTMX)
    page = desk.get("/schedule/reminders/appointment/appt-1", headers=HTMX).content.decode()
    assert "Skipped" in page and "no mobile phone number on file" in page
    assert LocalOutboxMessage.objects.count() == 0


def test_a_bad_channel_is_named_at_the_field_and_nothing_is_stored(desk):
    response = desk.post("/schedule/reminders/appointment/appt-1/send", {"channel": "fax"}, headers=HTMX)
    page = response.content.decode()
    assert 'role="alert"' in page and "Select a valid choice" in page
    assert ReminderMessage.objects.count() == 0


def test_who_may_see_and_who_may_send(practice, local_standin):
    biller = signed_in("biller", name="bill")  # reads scheduling, may not change it
    assert biller.get("/schedule/reminders/appointment/appt-1", headers=HTMX).status_code == 200
    assert "Send reminder now" not in biller.get("/schedule/reminders/appointment/appt-1").content.decode()
    assert biller.post("/schedule/reminders/appointment/appt-1/send", {"channel": "sms"}).status_code == 403
    assert biller.get("/schedule/reminders/rules/").status_code == 403
    auditor = signed_in("auditor", name="audrey")
    assert auditor.get("/schedule/reminders/appointment/appt-1").status_code == 403
    assert Client().get("/schedule/reminders/rules/").status_code == 302  # to the sign-in page
    assert ReminderMessage.objects.count() == 0


def test_an_unknown_appointment_says_so(desk):
    response = desk.get("/schedule/reminders/appointment/nope", headers=HTMX)
    assert response.status_code == 404 and "Appointment/nope does not exist" in response.content.decode()


def test_a_rule_is_created_changed_and_turned_off(desk, django_capture_on_commit_callbacks):
    assert "No rules yet" in desk.get("/schedule/reminders/rules/").content.decode()
    form = desk.get("/schedule/reminders/rules/new").content.decode()
    assert "Reply C to confirm, X to cancel." in form  # the SMS text to start from
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post("/schedule/reminders/rules/new", {
            "name": "Email 3 days before", "appointment_type": "", "offset_amount": "3", "offset_unit": "days",
            "channel": "email", "template": "Dear {patient_first_name}, see you {date}.", "active": "on"})
    assert response.status_code == 302
    rule = ReminderRule.objects.get()
    assert (rule.offset_text, rule.channel, rule.active) == ("3 days before", "email", True)
    assert ReminderMessage.objects.get().due_at == FRIDAY_9 - timedelta(days=3)  # booked visits planned again
    listing = desk.get("/schedule/reminders/rules/").content.decode()
    assert "Email 3 days before" in listing and "every type" in listing
    edit = desk.post(f"/schedule/reminders/rules/{rule.pk}/", {
        "name": "Email 2 days before", "offset_amount": "2", "offset_unit": "days", "channel": "email",
        "template": "See you {date}.", "active": "on"})
    assert edit.status_code == 302
    rule.refresh_from_db()
    assert rule.offset_text == "2 days before"
    assert desk.post(f"/schedule/reminders/rules/{rule.pk}/active", {"active": "0"}).status_code == 302
    rule.refresh_from_db()
    assert not rule.active
    assert set(ReminderMessage.objects.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.parametrize("change, field, words", [
    ({"name": ""}, "name", "This field is required."),
    ({"offset_amount": "soon"}, "offset_amount", "write a whole number, e.g. 3"),
    ({"offset_amount": "0"}, "offset_amount", "Ensure this value is greater than or equal to 1."),
    ({"offset_amount": "90"}, "offset_amount", "a reminder can be sent at most 60 days before the appointment"),
    ({"template": "Hi {first_name}"}, "template", "{first_name} is not a placeholder"),
    ({"appointment_type": "new patient"}, "appointment_type", "an appointment type code has 1-64 letters"),
])
def test_bad_input_is_shown_at_the_field_and_nothing_is_stored(desk, change, field, words):
    good = {"name": "SMS", "offset_amount": "2", "offset_unit": "days", "channel": "sms",
            "template": "Hi {patient_first_name}", "active": "on"}
    response = desk.post("/schedule/reminders/rules/new", {**good, **change})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page and words in page
    assert "Nothing was saved" in page
    assert f'value="{change.get("name", "SMS")}"' in page or field == "name"  # the typed input comes back
    assert ReminderRule.objects.count() == 0


def test_the_outbox_lets_the_front_desk_answer_as_the_patient(desk, frozen):
    make_rule("SMS the day before", amount=1, unit="days")
    services.schedule_reminders("appt-1")
    frozen.moment = FRIDAY_9 - timedelta(days=1)
    services.send_due_reminders()
    outbox = desk.get("/schedule/reminders/outbox/").content.decode()
    assert "Reply C to confirm, X to cancel." in outbox and "Reply as the patient" in outbox
    kept = LocalOutboxMessage.objects.get()
    response = desk.post("/schedule/reminders/outbox/", {"message": kept.pk, "body": "C"})
    assert response.status_code == 302
    assert read_appointment()["extension"][0]["url"] == "urn:mederi:appointment-confirmed"
    thread = list(LocalOutboxMessage.objects.order_by("id").values_list("direction", "body"))
    assert thread[1] == ("in", "C")
    assert thread[2][0] == "out" and thread[2][1].startswith("Thank you, Maria.")
