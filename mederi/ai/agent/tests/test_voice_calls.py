"""Reminder calls over real sockets: Mederi reads the reminder with espeak-ng, the stand-in provider
plays it to the patient and records the spoken answers (synthesised with espeak-ng too), Mederi
transcribes them offline and acts on them: the agent offers real slots and books the one picked."""

from __future__ import annotations

import subprocess
from datetime import datetime

import pytest

from mederi.ai.agent import services as agent
from mederi.ai.agent.models import Conversation, Turn
from mederi.ai.agent.tests.conftest import MOBILE, PATIENT, read
from mederi.ai.scribe import synthesis
from mederi.core import clock
from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.models import VOICE, ReminderMessage, ReminderReply
from mederi.scheduling.reminders.standin import SmsProviderStandIn

pytestmark = pytest.mark.skipif(not synthesis.available(), reason="espeak-ng and sox speak the patient's answers")


def said(text: str, tmp_path) -> bytes:
    """`text` spoken by the patient as a phone line records it: 8 kHz mono WAV."""
    spoken, recorded = tmp_path / "spoken.wav", tmp_path / "recorded.wav"
    synthesis.synthesise([("patient", text)], spoken)
    subprocess.run(["sox", str(spoken), "-r", "8000", str(recorded)], check=True)
    return recorded.read_bytes()


def silence(seconds: float = 2.0) -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(16000)
        stream.writeframes(b"\0\0" * int(16000 * seconds))
    return buffer.getvalue()


@pytest.fixture
def provider(live_server, settings):
    with SmsProviderStandIn("ACvoice", "voice-token", number="+15550100000") as standin:
        settings.MEDERI_SMS_PROVIDER = "twilio"
        settings.MEDERI_SMS_BASE_URL = standin.base_url
        settings.MEDERI_SMS_ACCOUNT_SID = standin.account_sid
        settings.MEDERI_SMS_AUTH_TOKEN = standin.auth_token
        settings.MEDERI_SMS_FROM = standin.number
        settings.MEDERI_REMINDER_WEBHOOK_BASE = live_server.url
        yield standin


def call(provider: SmsProviderStandIn, appointment: str, answers: list[bytes]):
    """Send a voice reminder now; the patient picks up and answers; returns the call's log when it ends."""
    provider.answer_calls_with(answers)
    ReminderMessage.objects.create(appointment_id=appointment, patient_id=PATIENT, channel=VOICE,
                                   due_at=clock.now(), send_after=clock.now())
    assert services.send_due_reminders().counts == {"sent": 1}
    [placed] = provider.messages
    log = provider.calls[placed.sid]
    assert log.done.wait(240), "the call did not end"
    assert log.problems == []
    return log


def test_a_patient_reschedules_by_speaking_to_the_reminder_call(provider, appointment, tmp_path):
    log = call(provider, appointment, [said("I want a different day please.", tmp_path),
                                       said("Number two, please.", tmp_path)])

    reminder, offer, booked = log.played
    assert all(audio.startswith(b"RIFF") and len(audio) > 20_000 for audio in log.played)
    assert "<Record" in log.answers[0].body  # slots were offered: the call listens again
    assert "<Record" not in log.answers[1].body and "<Hangup/>" in log.answers[1].body

    heard = list(ReminderReply.objects.order_by("id").values_list("body", "detail"))
    assert "different day" in heard[0][0].lower()
    assert "Reply with the number, or NONE." in heard[0][1]
    assert heard[1][0].lower().startswith(("number two", "number 2"))
    assert heard[1][1].startswith("Done: your appointment with Dr. Ruiz on ")

    moved_to = datetime.fromisoformat(read("Appointment", appointment)["start"].replace("Z", "+00:00"))
    assert f"2) {agent._slot_label(moved_to)}" in heard[0][1]  # the second time offered is the one booked
    conversation = Conversation.objects.get(channel="voice", patient_id=PATIENT)
    speakers = list(conversation.turns.values_list("speaker", flat=True))
    assert speakers == [Turn.PATIENT, Turn.AGENT, Turn.PATIENT, Turn.AGENT]
    assert ReminderMessage.objects.get().status == ReminderMessage.DELIVERED  # the provider reported it completed
    assert ReminderReply.objects.first().message.recipient == MOBILE


def test_a_spoken_yes_confirms_and_the_call_says_goodbye(provider, appointment, tmp_path):
    log = call(provider, appointment, [said("Yes, I will be there.", tmp_path)])

    assert len(log.played) == 2 and "<Record" not in log.answers[0].body
    reply = ReminderReply.objects.get()
    assert reply.outcome == ReminderReply.CONFIRMED
    assert read("Appointment", appointment)["extension"][0]["url"] == "urn:mederi:appointment-confirmed"


def test_an_answer_that_cannot_be_heard_is_asked_again_then_left_to_staff(provider, appointment):
    before = read("Appointment", appointment)
    log = call(provider, appointment, [silence(), silence()])

    assert "<Record" in log.answers[0].body and "<Record" not in log.answers[1].body
    details = list(ReminderReply.objects.order_by("id").values_list("outcome", "detail"))
    assert details[0] == (ReminderReply.UNCLEAR, "Sorry, I did not catch that. After the tone, say yes to "
                                                 "confirm, or cancel to cancel. You can also ask for another time.")
    assert details[1][1].startswith("We could not understand your answer. A member of our staff will call you back")
    assert read("Appointment", appointment) == before
