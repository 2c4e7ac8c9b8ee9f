"""Replies to a texted reminder: "C" and "X" stay the reminders' own; the patient's own words reach the agent,
which keeps the conversation (a reschedule offered by text is picked by text)."""

from __future__ import annotations

import pytest

from mederi.ai.agent.models import Conversation
from mederi.ai.agent.tests.conftest import MOBILE, NOW, PATIENT, read
from mederi.scheduling.reminders import incoming
from mederi.scheduling.reminders.models import SMS, ReminderMessage, ReminderReply


@pytest.fixture
def texted(appointment):
    return ReminderMessage.objects.create(appointment_id=appointment, patient_id=PATIENT, channel=SMS, due_at=NOW,
                                          send_after=NOW, status=ReminderMessage.SENT, recipient=MOBILE,
                                          body="Reply C to confirm or X to cancel", sent_at=NOW)


def test_plain_c_is_still_the_reminders_own_confirmation(texted):
    outcome = incoming.receive_reply(MOBILE, "C")
    assert outcome.outcome == ReminderReply.CONFIRMED and not Conversation.objects.exists()


def test_a_reschedule_by_text_is_offered_and_picked_by_text(texted, appointment):
    offer = incoming.receive_reply(MOBILE, "Can we move it to another day?")
    assert "Reply with the number, or NONE." in offer.answer
    offered = Conversation.objects.get(channel="sms", patient_id=PATIENT).offered
    picked = incoming.receive_reply(MOBILE, "3")
    assert picked.answer.startswith("Done: your appointment with Dr. Ruiz on ")
    assert read("Appointment", appointment)["start"][:16] == offered[2]["start"][:16]
    replies = list(ReminderReply.objects.values_list("body", "detail"))
    assert replies[1] == ("3", picked.answer)


def test_yes_after_the_agent_asked_about_cancelling_cancels_rather_than_confirms(texted, appointment):
    incoming.receive_reply(MOBILE, "I can't come, something came up")
    outcome = incoming.receive_reply(MOBILE, "yes")
    assert outcome.outcome == ReminderReply.CANCELLED
    assert read("Appointment", appointment)["status"] == "cancelled"


def test_the_patients_text_is_recorded_once_in_the_chart(texted):
    incoming.receive_reply(MOBILE, "running 10 minutes late")
    from mederi.ai.agent.tests.conftest import search

    from_patient = [c for c in search("Communication", [("subject", f"Patient/{PATIENT}")])
                    if c["sender"].get("reference") == f"Patient/{PATIENT}"]
    assert [c["payload"][0]["contentString"] for c in from_patient] == ["running 10 minutes late"]


def test_words_the_agent_does_not_understand_are_asked_again_by_the_reminders(texted):
    outcome = incoming.receive_reply(MOBILE, "hmm")
    assert outcome.outcome == ReminderReply.UNCLEAR and outcome.answer.startswith("Sorry, we did not understand.")
    assert not Conversation.objects.exists()
