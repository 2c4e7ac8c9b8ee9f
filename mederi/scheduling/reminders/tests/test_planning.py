"""Planning: which reminders an appointment gets, and what booking, moving and cancelling do to them."""

from datetime import datetime, timedelta, timezone

import pytest

from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.models import ReminderMessage

from .conftest import NOW, change_appointment, make_appointment, make_patient, make_rule

FRIDAY_9 = NOW + timedelta(days=4, hours=1)


def plan(appointment_id="appt-1"):
    return {(m.rule.name if m.rule else "by hand", m.due_at, m.status, m.last_error)
            for m in services.schedule_reminders(appointment_id)}


def test_each_active_rule_for_the_type_gives_one_message_at_its_time(practice):
    make_rule("Email 3 days before", channel="email", amount=3, unit="days")
    make_rule("SMS 2 hours before", channel="sms", amount=2, unit="hours")
    make_rule("New patients only", channel="sms", amount=1, unit="days", appointment_type="new-patient")
    make_rule("Switched off", channel="sms", amount=1, unit="days", active=False)
    assert plan() == {
        ("Email 3 days before", FRIDAY_9 - timedelta(days=3), "pending", ""),
        ("SMS 2 hours before", FRIDAY_9 - timedelta(hours=2), "pending", ""),
    }
    message = ReminderMessage.objects.get(channel="sms")
    assert (message.recipient, message.patient_id, message.send_after) == ("+15551230001", "pat-1", message.due_at)


def test_planning_again_changes_nothing(practice):
    make_rule()
    first = services.schedule_reminders("appt-1")
    again = services.schedule_reminders("appt-1")
    assert [(m.pk, m.status, m.due_at) for m in first] == [(m.pk, m.status, m.due_at) for m in again]
    assert ReminderMessage.objects.count() == 1


def test_moving_the_appointment_replaces_pending_reminders_and_keeps_sent_ones(practice):
    make_rule("SMS 2 hours before")
    make_rule("Email 3 days before", channel="email", amount=3, unit="days")
    services.schedule_reminders("appt-1")
    sent = ReminderMessage.objects.get(channel="email")
    ReminderMessage.objects.filter(pk=sent.pk).update(status="sent")
    change_appointment("appt-1", start=FRIDAY_9 + timedelta(days=1))  # to Saturday 9:00
    plan()
    rows = {(m.channel, m.due_at, m.status) for m in ReminderMessage.objects.all()}
    assert rows == {
        ("email", FRIDAY_9 - timedelta(days=3), "sent"),  # already out: stays as it was
        ("email", FRIDAY_9 - timedelta(days=2), "pending"),
        ("sms", FRIDAY_9 - timedelta(hours=2), "cancelled"),
        ("sms", FRIDAY_9 + timedelta(days=1, hours=-2), "pending"),
    }
    old = ReminderMessage.objects.get(channel="sms", status="cancelled")
    assert old.last_error == "the appointment moved to Saturday, March 7, 2026 9:00 AM"
    change_appointment("appt-1", start=FRIDAY_9)  # and back again: the first text is planned once more
    plan()
    assert ReminderMessage.objects.get(channel="sms", due_at=FRIDAY_9 - timedelta(hours=2)).status == "pending"
    assert ReminderMessage.objects.filter(channel="email", due_at=FRIDAY_9 - timedelta(days=3)).count() == 1


def test_cancelling_the_appointment_cancels_what_is_pending(practice):
    make_rule()
    services.schedule_reminders("appt-1")
    change_appointment("appt-1", status="cancelled")
    assert plan() == {("SMS 2 hours before", FRIDAY_9 - timedelta(hours=2), "cancelled",
                       "the appointment was cancelled")}
    system = services.reminders_repository()
    system.delete("Appointment", "appt-1")
    assert services.schedule_reminders("appt-1")[0].last_error == "the appointment was cancelled"
    assert services.schedule_reminders("no-such-appointment") == []


def test_no_mobile_number_means_skipped_with_the_reason(practice):
    make_patient("pat-1", mobile=None, home="555-123-0002")
    make_rule("SMS 2 hours before")
    make_rule("Call the day before", channel="voice", amount=1, unit="days")
    assert plan() == {
        ("SMS 2 hours before", FRIDAY_9 - timedelta(hours=2), "skipped", "no mobile phone number on file"),
        ("Call the day before", FRIDAY_9 - timedelta(days=1), "pending", ""),
    }
    make_patient("pat-1", mobile="555-123-0003")  # the patient gave a mobile number: planned again, it is sent
    assert ("SMS 2 hours before", FRIDAY_9 - timedelta(hours=2), "pending", "") in plan()


def test_a_reminder_whose_time_has_passed_at_booking_is_skipped(practice, frozen):
    make_rule("Email 3 days before", channel="email", amount=3, unit="days")
    frozen.advance(days=2)  # Wednesday 8:00: three days before Friday 9:00 is gone
    assert plan() == {("Email 3 days before", FRIDAY_9 - timedelta(days=3), "skipped",
                       "planned after its time (Tuesday, March 3, 2026 9:00 AM)")}


def test_a_pending_reminder_the_worker_missed_stays_pending(practice, frozen):
    make_rule("SMS 2 hours before")
    services.schedule_reminders("appt-1")
    frozen.advance(days=4)  # Friday 8:00, an hour after the text was due
    assert plan() == {("SMS 2 hours before", FRIDAY_9 - timedelta(hours=2), "pending", "")}


def test_rules_by_type_follow_the_appointment_type(practice):
    make_rule("New patients", appointment_type="new-patient")
    assert plan() == set()
    change_appointment("appt-1", appointmentType={"coding": [
        {"system": "urn:mederi:appointment-type", "code": "new-patient"}]})
    assert {row[2] for row in plan()} == {"pending"}
    change_appointment("appt-1", appointmentType={"coding": [
        {"system": "urn:mederi:appointment-type", "code": "follow-up"}]})
    assert {row[3] for row in plan()} == {"the appointment type changed"}


def test_the_sweep_plans_appointments_nobody_told_us_about(practice):
    make_rule()
    make_patient("pat-2", mobile="555-123-0002")
    make_appointment("appt-2", patient_id="pat-2", start=NOW + timedelta(days=6))
    make_appointment("far-away", patient_id="pat-2", start=NOW + timedelta(days=30))
    make_appointment("was-cancelled", patient_id="pat-2", start=NOW + timedelta(days=2), status="cancelled")
    assert services.sweep_upcoming(days=8) == 2
    assert set(ReminderMessage.objects.values_list("appointment_id", flat=True)) == {"appt-1", "appt-2"}


def test_rules_are_checked_field_by_field(db):
    context = Context.system("test")
    good = {"name": "SMS", "offset_amount": 2, "offset_unit": "hours", "channel": "sms", "template": "Hi {date}"}
    cases = [
        ({"name": " "}, "name", "give the rule a name"),
        ({"appointment_type": "new patient!"}, "appointment_type", "1-64 letters"),
        ({"offset_amount": 0}, "offset_amount", "at least 1"),
        ({"offset_amount": 61, "offset_unit": "days"}, "offset_amount", "at most 60 days"),
        ({"offset_unit": "weeks"}, "offset_unit", "days, hours or minutes"),
        ({"channel": "fax"}, "channel", "email, SMS or voice"),
        ({"template": "Hi {name}"}, "template", "{name} is not a placeholder"),
    ]
    for change, field, words in cases:
        with pytest.raises(InvalidRequest) as caught:
            services.save_rule(context, **{**good, **change})
        assert caught.value.issues[0].expression == field and words in str(caught.value)
    with pytest.raises(Forbidden):
        services.save_rule(Context(user_id=1, permissions=frozenset({"scheduling.read"})), **good)
    assert services.save_rule(context, **good).offset_text == "2 hours before"


def test_turning_a_rule_off_cancels_its_pending_reminders(practice):
    rule = make_rule()
    services.schedule_reminders("appt-1")
    services.set_rule_active(Context.system("test"), rule.pk, False)
    message = ReminderMessage.objects.get()
    assert (message.status, message.last_error) == ("cancelled", "the rule was turned off")


def test_a_new_rule_applies_to_appointments_already_booked(practice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.save_rule(Context.system("test"), name="Email 3 days before", offset_amount=3, offset_unit="days",
                           channel="email", template="See you {date}")
    assert ReminderMessage.objects.get().due_at == FRIDAY_9 - timedelta(days=3)



def test_days_before_count_at_the_practice_across_the_clock_change(practice, settings):
    settings.MEDERI_PRACTICE_TIME_ZONE = "America/Chicago"
    make_rule("Email 3 days before", channel="email", amount=3, unit="days", template="See you {date} at {time}")
    # Tuesday March 10, 9:00 in Chicago (CDT, UTC-5); the clocks moved forward on Sunday March 8.
    change_appointment("appt-1", start=datetime(2026, 3, 10, 14, 0, tzinfo=timezone.utc))
    [message] = services.schedule_reminders("appt-1")
    assert message.due_at == datetime(2026, 3, 7, 15, 0, tzinfo=timezone.utc)  # Saturday 9:00 CST (UTC-6)
