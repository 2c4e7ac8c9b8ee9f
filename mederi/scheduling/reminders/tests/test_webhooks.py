"""The provider's callbacks: delivery reports, and patients' replies that confirm or cancel."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.test import Client

from mederi.conftest import record_row_counts
from mederi.core import systems
from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.models import ReminderMessage, ReminderReply
from mederi.scheduling.reminders.twilio_style import signature

from .conftest import NOW, WEBHOOK_BASE, make_appointment, make_rule, read_appointment, system_repo

FRIDAY_9 = NOW + timedelta(days=4, hours=1)
STATUS_PATH = "/schedule/reminders/hooks/status"
INBOUND_PATH = "/schedule/reminders/hooks/inbound"


def post_signed(path: str, params: dict, token: str = "secret-token", **headers):
    """POST a form the way the provider does, signed with `token` over URL + sorted parameters."""
    headers.setdefault("X-Twilio-Signature", signature(WEBHOOK_BASE + path, params, token))
    return Client().post(path, params, headers=headers)


def reply(text: str, sender: str = "+15551230001"):
    response = post_signed(INBOUND_PATH, {"MessageSid": "SMin1", "AccountSid": "ACtest", "From": sender,
                                          "To": "+15550100000", "Body": text, "NumMedia": "0"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    return response.content.decode()


@pytest.fixture
def texted(practice, sms_settings, frozen):
    """The Friday appointment's SMS reminder, sent through the provider stand-in."""
    make_rule("SMS 2 hours before", amount=2, unit="hours")
    make_rule("SMS the day before", amount=1, unit="days")
    services.schedule_reminders("appt-1")
    frozen.moment = FRIDAY_9 - timedelta(days=1)
    assert services.send_due_reminders().counts == {"sent": 1}
    return ReminderMessage.objects.get(status="sent")


def test_a_delivery_report_marks_the_message_delivered(texted, sms_settings):
    params = {"MessageSid": texted.provider_message_id, "MessageStatus": "delivered", "AccountSid": "ACtest",
              "To": "+15551230001", "From": "+15550100000"}
    assert post_signed(STATUS_PATH, params).status_code == 204
    texted.refresh_from_db()
    assert (texted.status, texted.delivered_at) == ("delivered", NOW + timedelta(days=3, hours=1))
    communication = system_repo().read("Communication", texted.communication_id).as_dict()
    assert communication["received"] == "2026-03-05T09:00:00.000Z"


def test_a_failed_delivery_says_why_in_words(texted):
    params = {"MessageSid": texted.provider_message_id, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    assert post_signed(STATUS_PATH, params).status_code == 204
    texted.refresh_from_db()
    assert texted.status == "failed"
    assert texted.last_error == ("not delivered: the provider reported undelivered (error 30006: the number is a "
                                 "landline or cannot receive texts)")
    communication = system_repo().read("Communication", texted.communication_id).as_dict()
    assert communication["statusReason"] == {"text": texted.last_error}
    # A late "sent" report changes nothing; a later "delivered" one wins.
    post_signed(STATUS_PATH, {"MessageSid": texted.provider_message_id, "MessageStatus": "sent"})
    texted.refresh_from_db()
    assert texted.status == "failed"


def test_a_bad_signature_is_refused_and_changes_nothing(texted):
    before = record_row_counts()
    params = {"MessageSid": texted.provider_message_id, "MessageStatus": "delivered"}
    forged = post_signed(STATUS_PATH, params, token="guessed")
    assert forged.status_code == 403
    assert forged.content == b"the X-Twilio-Signature header does not match this request"
    signed_for_delivered = signature(WEBHOOK_BASE + STATUS_PATH, params, "secret-token")
    tampered = Client().post(STATUS_PATH, {**params, "MessageStatus": "failed"},
                             headers={"X-Twilio-Signature": signed_for_delivered})
    assert tampered.status_code == 403
    unsigned = Client().post(INBOUND_PATH, {"From": "+15551230001", "Body": "X"})
    assert unsigned.status_code == 403
    texted.refresh_from_db()
    assert texted.status == "sent"
    assert read_appointment()["status"] == "booked"
    assert record_row_counts() == before and ReminderReply.objects.count() == 0


def test_without_a_token_the_webhooks_are_off(texted, settings):
    settings.MEDERI_SMS_AUTH_TOKEN = ""
    response = post_signed(INBOUND_PATH, {"From": "+15551230001", "Body": "C"}, token="")
    assert (response.status_code, response.content) == (403, b"webhooks are off: MEDERI_SMS_AUTH_TOKEN is not set")


def test_reply_c_confirms_the_appointment(texted):
    answer = reply(" c ")
    assert "<Message>Thank you, Maria. Your appointment with Dr. Ana Ruiz on Friday, March 6, 2026 at 9:00 AM is " \
           "confirmed.</Message>" in answer
    appointment = read_appointment()
    assert appointment["status"] == "booked"
    patient = next(p for p in appointment["participant"] if p["actor"]["reference"] == "Patient/pat-1")
    assert patient["status"] == "accepted"
    assert appointment["extension"] == [{"url": "urn:mederi:appointment-confirmed",
                                         "valueDateTime": "2026-03-05T09:00:00.000Z"}]
    assert ReminderReply.objects.get().outcome == "confirmed"
    [inbound] = [c.as_dict() for c in system_repo().search("Communication", [("sender", "Patient/pat-1")]).matches]
    assert inbound["payload"] == [{"contentString": " c "}]
    assert inbound["inResponseTo"] == [{"reference": f"Communication/{texted.communication_id}"}]


@pytest.mark.parametrize("text", ["Yes", "confirm", "C."])
def test_other_ways_of_saying_yes_confirm_too(texted, text):
    reply(text)
    assert read_appointment()["extension"][0]["url"] == "urn:mederi:appointment-confirmed"


def test_reply_x_cancels_the_appointment_and_its_pending_reminders(texted):
    answer = reply("X")
    assert "is cancelled. Please call us to book a new time.</Message>" in answer
    appointment = read_appointment()
    assert appointment["status"] == "cancelled"
    assert appointment["cancelationReason"] == {
        "coding": [{"system": systems.CANCEL_REASON, "code": "pat", "display": "Patient"}],
        "text": "Cancelled by patient reply to reminder"}
    assert set(ReminderMessage.objects.values_list("status", flat=True)) == {"sent", "cancelled"}
    assert "is already cancelled" in reply("cancel")  # a second X finds it cancelled


def test_anything_else_is_asked_again(texted):
    answer = reply("what time is it?")
    assert ("<Message>Sorry, we did not understand. Reply C to confirm or X to cancel your appointment on Friday, "
            "March 6, 2026 at 9:00 AM.</Message>") in answer
    assert read_appointment()["status"] == "booked" and "extension" not in read_appointment()
    assert ReminderReply.objects.get().outcome == "unclear"


def test_a_text_from_an_unknown_number_is_ignored_with_a_log_line(texted, caplog):
    with caplog.at_level(logging.INFO, logger="mederi.scheduling.reminders.incoming"):
        answer = reply("C", sender="+15559999999")
    assert answer == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    assert "a text from …9999 matched no reminder sent to that number; ignored" in caplog.text
    assert "extension" not in read_appointment()
    assert ReminderReply.objects.get().outcome == "ignored"


def test_a_reply_answers_the_newest_reminder_sent_to_that_number(texted, frozen):
    make_appointment("appt-2", start=FRIDAY_9 + timedelta(days=1))  # the same patient, on Saturday
    services.schedule_reminders("appt-2")
    frozen.advance(days=1)  # Friday 9:00: Saturday's reminder goes out, after Friday's
    services.send_due_reminders()
    reply("C")
    assert "extension" in read_appointment("appt-2")
    assert "extension" not in read_appointment("appt-1")


def test_stop_means_no_more_texts_and_start_welcomes_them_again(texted, frozen):
    pending = ReminderMessage.objects.get(status="pending")  # the text 2 hours before
    assert reply("STOP") == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'  # the provider answers STOP
    pending.refresh_from_db()
    assert (pending.status, pending.last_error) == ("skipped", "the patient texted STOP: no more text messages")
    [refusal] = [c.as_dict() for c in system_repo().search("Consent", [("patient", "Patient/pat-1")]).matches]
    assert refusal["provision"]["type"] == "deny"
    services.schedule_reminders("appt-1")  # planning again keeps it skipped, now for the recorded refusal
    pending.refresh_from_db()
    assert pending.status == "skipped" and pending.last_error.startswith("the patient declined reminders by text")
    frozen.advance(minutes=5)
    reply("START")
    assert ReminderReply.objects.filter(outcome__in=["opted-out", "opted-in"]).count() == 2
    services.schedule_reminders("appt-1")
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert read_appointment()["status"] == "booked"


def test_a_report_faster_than_the_sender_is_applied_once_the_id_is_known(practice, sms_settings, frozen):
    make_rule("SMS the day before", amount=1, unit="days")
    services.schedule_reminders("appt-1")
    frozen.moment = FRIDAY_9 - timedelta(days=1)
    early_sid = f"SM{1:032x}"  # the id the stand-in will give the first text
    assert post_signed(STATUS_PATH, {"MessageSid": early_sid, "MessageStatus": "delivered"}).status_code == 204
    assert services.send_due_reminders().counts == {"delivered": 1}
    assert sms_settings.messages[0].sid == early_sid
