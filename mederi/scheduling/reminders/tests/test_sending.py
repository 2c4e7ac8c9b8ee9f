"""Sending: due messages go out once, failures are retried with backoff and then given up, and each
message sent is recorded in the chart as a Communication."""

import re
from datetime import timedelta

import pytest

from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.scheduling.reminders import services, tasks, voice
from mederi.scheduling.reminders.models import LocalOutboxMessage, ReminderMessage

from .conftest import NOW, change_appointment, make_patient, make_rule, system_repo

FRIDAY_9 = NOW + timedelta(days=4, hours=1)


@pytest.fixture
def local_standin(settings):
    settings.MEDERI_SMS_PROVIDER = "standin-inprocess"
    settings.MEDERI_EMAIL_PROVIDER = "standin-inprocess"


def due_sms(frozen):
    """The appointment's SMS 2 hours before, planned, with the clock at its due time."""
    make_rule("SMS 2 hours before")
    services.schedule_reminders("appt-1")
    frozen.moment = FRIDAY_9 - timedelta(hours=2)
    return ReminderMessage.objects.get()


def test_nothing_is_sent_before_its_time(practice, local_standin):
    make_rule("SMS 2 hours before")
    services.schedule_reminders("appt-1")
    assert services.send_due_reminders().counts == {}
    assert LocalOutboxMessage.objects.count() == 0


def test_a_due_message_is_sent_once_and_recorded_in_the_chart(practice, local_standin, frozen):
    message = due_sms(frozen)
    assert services.send_due_reminders().counts == {"delivered": 1}
    assert services.send_due_reminders().counts == {}  # a second run finds nothing to send
    kept = LocalOutboxMessage.objects.get()
    assert kept.to == "+15551230001"
    assert kept.body == ("Hi Maria, see Dr. Ana Ruiz on Friday, March 6, 2026 at 9:00 AM, Riverside main clinic. "
                         "Reply C to confirm, X to cancel.")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("delivered", 1, kept.provider_message_id)
    communication = system_repo().read("Communication", message.communication_id).as_dict()
    assert communication["status"] == "completed"
    assert communication["category"][0]["coding"][0]["code"] == "reminder"
    assert communication["medium"][0]["coding"][0]["code"] == "SMSWRIT"
    assert communication["subject"] == {"reference": "Patient/pat-1"}
    assert communication["about"] == [{"reference": "Appointment/appt-1"}]
    assert communication["payload"] == [{"contentString": kept.body}]
    assert communication["sent"] == "2026-03-06T07:00:00.000Z"
    found = system_repo().search("Communication", [("patient", "Patient/pat-1")])
    assert [c.logical_id for c in found.matches] == [message.communication_id]


def test_the_periodic_task_sends_what_is_due(practice, local_standin, frozen):
    due_sms(frozen)
    assert tasks.send_due_reminders.call_local() == {"delivered": 1}


def test_texts_go_through_the_providers_rest_api(practice, sms_settings, frozen):
    message = due_sms(frozen)
    assert services.send_due_reminders().counts == {"sent": 1}
    [sent] = sms_settings.messages
    assert (sent.kind, sent.to, sent.sender) == ("sms", "+15551230001", "+15550100000")
    assert sent.body.startswith("Hi Maria, see Dr. Ana Ruiz on Friday, March 6, 2026 at 9:00 AM")
    assert sent.status_callback == "http://testserver/schedule/reminders/hooks/status"
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", sent.sid)


def test_calls_play_the_reminder_spoken_here_and_record_the_answer(practice, sms_settings, frozen):
    make_rule("Call the day before", channel="voice", amount=1, unit="days",
              template="Hello {patient_first_name}, see you {date} at {time} & bring your card.")
    services.schedule_reminders("appt-1")
    frozen.moment = FRIDAY_9 - timedelta(days=1)
    assert services.send_due_reminders().counts == {"sent": 1}
    [call] = sms_settings.messages
    assert call.kind == "call" and call.sid.startswith("CA")
    message = ReminderMessage.objects.get()
    play = re.fullmatch(r"<Response><Play>(\S+)</Play><Record action=\"(\S+)\" method=\"POST\" maxLength=\"15\" "
                        r"timeout=\"3\" playBeep=\"true\" trim=\"trim-silence\"/><Hangup/></Response>", call.body)
    assert play, call.body
    assert play.group(2) == f"http://testserver/schedule/reminders/hooks/voice/{message.pk}/answer?turn=1"
    token = play.group(1).removeprefix("http://testserver/schedule/reminders/hooks/voice/audio/")
    assert voice.text_of(token) == ("Hello Maria, see you Friday, March 6, 2026 at 9:00 AM & bring your card. "
                                    + voice.PROMPT)
    assert "Maria" not in play.group(1)  # the address names neither the patient nor the words


def test_calls_wait_for_the_webhook_address_they_need(practice, sms_settings, frozen, settings):
    settings.MEDERI_REMINDER_WEBHOOK_BASE = ""
    make_rule("Call the day before", channel="voice", amount=1, unit="days")
    services.schedule_reminders("appt-1")
    frozen.moment = FRIDAY_9 - timedelta(days=1)
    assert services.send_due_reminders().counts == {"pending": 1}
    assert "calls need MEDERI_REMINDER_WEBHOOK_BASE" in ReminderMessage.objects.get().last_error
    assert sms_settings.messages == []


def test_failures_are_retried_with_growing_waits_then_given_up(practice, sms_settings, frozen, settings):
    settings.MEDERI_REMINDER_MAX_ATTEMPTS = 3
    settings.MEDERI_REMINDER_RETRY_SECONDS = 60
    message = due_sms(frozen)
    sms_settings.fail_next(status=503, code=20503, message="Service unavailable", times=3)
    assert services.send_due_reminders().counts == {"pending": 1}
    message.refresh_from_db()
    assert (message.attempts, message.send_after) == (1, frozen.moment + timedelta(minutes=1))
    assert message.last_error == ("attempt 1 failed: the SMS provider refused the request (HTTP 503, error 20503): "
                                  "Service unavailable")
    assert services.send_due_reminders().counts == {}  # waiting out the first delay
    frozen.advance(minutes=1)
    assert services.send_due_reminders().counts == {"pending": 1}
    message.refresh_from_db()
    assert message.send_after == frozen.moment + timedelta(minutes=4)  # four times longer
    frozen.advance(minutes=4)
    assert services.send_due_reminders().counts == {"failed": 1}
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.last_error.endswith("Service unavailable (gave up after 3 attempts)")
    assert sms_settings.messages == [] and message.communication_id == ""


def test_a_retry_after_a_failure_succeeds(practice, sms_settings, frozen):
    message = due_sms(frozen)
    sms_settings.fail_next(status=500, raw="<html>oops</html>")
    assert services.send_due_reminders().counts == {"pending": 1}
    message.refresh_from_db()
    assert "HTTP 500 with '<html>oops</html>'" in message.last_error
    frozen.advance(minutes=1)
    assert services.send_due_reminders().counts == {"sent": 1}
    assert len(sms_settings.messages) == 1


def test_a_refusal_that_cannot_change_fails_at_once(practice, sms_settings, frozen):
    make_patient("pat-1", mobile="555-0110")  # seven digits: no provider can text that
    message = due_sms(frozen)
    assert services.send_due_reminders().counts == {"failed": 1}
    message.refresh_from_db()
    assert (message.attempts, message.last_error) == (1, "the SMS provider refused the request (HTTP 400, error "
                                                         "21211): The 'To' number 5550110 is not a valid phone number.")


def test_wrong_credentials_say_what_to_check(practice, sms_settings, frozen, settings):
    settings.MEDERI_SMS_AUTH_TOKEN = "wrong"
    message = due_sms(frozen)
    services.send_due_reminders()
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.last_error.endswith("check MEDERI_SMS_ACCOUNT_SID and MEDERI_SMS_AUTH_TOKEN")


def test_an_unreachable_provider_is_tried_again(practice, sms_settings, frozen, settings):
    settings.MEDERI_SMS_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    message = due_sms(frozen)
    assert services.send_due_reminders().counts == {"pending": 1}
    message.refresh_from_db()
    assert message.last_error.startswith("attempt 1 failed: could not reach the SMS provider at http://127.0.0.1:9")


def test_a_worker_that_died_mid_send_does_not_cause_a_second_send(practice, local_standin, frozen):
    message = due_sms(frozen)
    assert services.claim(message.pk, frozen.moment)  # claimed, then the worker vanished
    assert services.send_due_reminders().counts == {}
    frozen.advance(minutes=16)
    services.send_due_reminders()
    message.refresh_from_db()
    assert message.status == "failed" and "it may have gone out, so it was not sent again" in message.last_error
    assert LocalOutboxMessage.objects.count() == 0


def test_an_appointment_moved_by_another_system_is_planned_again_instead_of_sent(practice, local_standin, frozen):
    message = due_sms(frozen)
    change_appointment("appt-1", start=FRIDAY_9 + timedelta(hours=3))  # written by an outside FHIR client
    assert services.send_due_reminders().counts == {"cancelled": 1}
    message.refresh_from_db()
    assert message.last_error == "the appointment moved to Friday, March 6, 2026 12:00 PM"
    replanned = ReminderMessage.objects.get(status="pending")
    assert replanned.due_at == FRIDAY_9 + timedelta(hours=1)
    assert LocalOutboxMessage.objects.count() == 0


def test_a_patient_who_refused_meanwhile_is_not_messaged(practice, local_standin, frozen):
    message = due_sms(frozen)
    system_repo().create({
        "resourceType": "Consent", "status": "active", "dateTime": "2026-03-05T10:00:00Z",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/pat-1"}, "policyRule": {"text": "Communication preferences"},
        "provision": {"type": "deny", "code": [{"text": "SMS reminders"}]}})
    assert services.send_due_reminders().counts == {"skipped": 1}
    message.refresh_from_db()
    assert message.last_error.startswith("the patient declined reminders by text message")


def test_the_front_desk_can_send_one_now_and_a_double_click_sends_once(
        practice, local_standin, django_capture_on_commit_callbacks):
    desk = Context(user_id=7, user_name="frontdesk", permissions=frozenset({"scheduling.read", "scheduling.write"}))
    with django_capture_on_commit_callbacks(execute=True):
        first = services.send_now(desk, "appt-1", "email")
        second = services.send_now(desk, "appt-1", "email")
    assert first.pk == second.pk
    first.refresh_from_db()
    assert (first.status, first.requested_by, first.rule) == ("delivered", "frontdesk", None)
    [kept] = LocalOutboxMessage.objects.all()
    assert (kept.to, kept.subject) == ("maria@example.org", "Appointment reminder: Friday, March 6, 2026 at 9:00 AM")
    assert "Dear Maria" in kept.body
    with pytest.raises(Forbidden):
        services.send_now(Context(user_id=8, permissions=frozenset({"scheduling.read"})), "appt-1", "sms")
    change_appointment("appt-1", status="cancelled")
    with pytest.raises(InvalidRequest, match="nothing to remind of: the appointment was cancelled"):
        services.send_now(desk, "appt-1", "sms")
