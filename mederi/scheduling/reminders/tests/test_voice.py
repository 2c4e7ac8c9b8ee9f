"""The webhooks of reminder calls refuse what is not theirs: audio only for a genuine, fresh token, and
answers only from the provider (signed); and a written answer is worded for the ear."""

import pytest
from django.core import signing
from django.test import Client

from mederi.scheduling.reminders import voice
from mederi.scheduling.reminders.models import VOICE, ReminderMessage, ReminderReply

from .conftest import NOW, read_appointment


@pytest.fixture
def called(practice):
    return ReminderMessage.objects.create(appointment_id=practice, patient_id="pat-1", channel=VOICE, due_at=NOW,
                                          send_after=NOW, status=ReminderMessage.SENT, recipient="+15551230001",
                                          body="Hello Maria. This is a reminder of your appointment.", sent_at=NOW)


@pytest.mark.skipif(not voice.available(), reason="espeak-ng reads the reminder aloud")
def test_the_reminder_is_served_as_spoken_audio_for_a_genuine_token(called, settings):
    settings.MEDERI_REMINDER_WEBHOOK_BASE = "http://testserver"
    address = voice.audio_url("call", called.pk).removeprefix("http://testserver")
    response = Client().get(address)
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    assert response.content.startswith(b"RIFF") and len(response.content) > 50_000  # several seconds of speech


def test_forged_or_expired_audio_tokens_get_nothing(called, monkeypatch):
    forged = signing.dumps(["call", called.pk, False], salt="another purpose")
    assert Client().get(f"/schedule/reminders/hooks/voice/audio/{forged}").status_code == 404
    assert Client().get("/schedule/reminders/hooks/voice/audio/not-a-token").status_code == 404
    token = signing.dumps(["call", called.pk, False], salt=voice.SALT)
    assert voice.text_of(token).startswith("Hello Maria.")
    monkeypatch.setattr(voice, "AUDIO_MAX_AGE", -1)  # as if the call had ended long ago
    assert voice.text_of(token) is None


def test_an_unsigned_answer_is_refused_and_changes_nothing(called, settings):
    settings.MEDERI_SMS_AUTH_TOKEN = "secret-token"
    before = read_appointment()
    response = Client().post(f"/schedule/reminders/hooks/voice/{called.pk}/answer?turn=1",
                             {"CallSid": "CA1", "RecordingUrl": "http://127.0.0.1:9/rec"},
                             HTTP_X_TWILIO_SIGNATURE="made-up")
    assert response.status_code == 403
    assert ReminderReply.objects.count() == 0 and read_appointment() == before


def test_written_answers_are_worded_for_a_call():
    assert voice.spoken("Sorry, we did not understand. Reply C to confirm or X to cancel your appointment.") == (
        "Sorry, we did not understand. Say yes to confirm, or cancel to cancel your appointment.")
    assert voice.spoken("Please reply with the number of the time you want. Or reply NONE for other times.") == (
        "Please say the number of the time you want. Or say none for other times.")
    assert voice.spoken("Cancel it? Reply YES to cancel or NO to keep it.") == (
        "Cancel it? Say yes to cancel or no to keep it.")
    assert voice.spoken("A member of our staff will read your message and reply soon.") == (
        "A member of our staff will read your message and reply soon.")


@pytest.mark.skipif(not voice.available(), reason="espeak-ng speaks the patient's words")
def test_the_front_desk_answers_a_local_call_in_words_and_the_words_are_heard(practice, settings):
    from mederi.conftest import staff_user
    from mederi.scheduling.reminders import services
    from mederi.scheduling.reminders.models import LocalOutboxMessage

    settings.MEDERI_SMS_PROVIDER = "standin-inprocess"
    ReminderMessage.objects.create(appointment_id=practice, patient_id="pat-1", channel=VOICE, due_at=NOW,
                                   send_after=NOW)
    assert services.send_due_reminders().counts == {"delivered": 1}
    call = LocalOutboxMessage.objects.get(channel=VOICE)
    client = Client()
    client.force_login(staff_user("fran", "front_desk"))

    page = client.get("/schedule/reminders/outbox/").content.decode()
    assert "Answer the call as the patient" in page
    response = client.post("/schedule/reminders/outbox/", {"message": call.pk, "body": "Yes, I will be there."},
                           follow=True)
    assert "heard “Yes, I will be there.”: confirmed." in response.content.decode()
    assert read_appointment()["extension"][0]["url"] == "urn:mederi:appointment-confirmed"
    heard, answer = LocalOutboxMessage.objects.filter(pk__gt=call.pk).order_by("pk")
    assert heard.direction == "in" and answer.body.endswith("is confirmed.")
