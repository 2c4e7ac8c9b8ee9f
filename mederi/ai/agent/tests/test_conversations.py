"""The agent end to end: what a patient writes, what it does in the record, what it answers."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from mederi.ai.agent import services
from mederi.ai.agent.models import Conversation, Turn
from mederi.ai.agent.tests.conftest import PATIENT, read, search
from mederi.audit.models import AuditEntry
from mederi.conftest import record_row_counts
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.scheduling import services as scheduling


def say(text: str, channel: str = "sms"):
    return services.handle_message(channel, text, patient_id=PATIENT)


def tasks(queue: str) -> list[dict]:
    return [t for t in search("Task", [("status", "requested")])
            if t["performerType"][0]["coding"][0]["code"] == queue]


def test_confirming_in_own_words_marks_the_appointment_and_keeps_every_step(appointment):
    reply = say("Yes, I'll be there on time", channel="portal")
    assert reply.intent == "confirm" and reply.outcome == "confirmed"
    assert reply.answer == "Thank you. Your appointment with Dr. Ruiz on Thu Mar 5 at 9:00 AM is confirmed."
    assert read("Appointment", appointment)["extension"][0]["url"] == "urn:mederi:appointment-confirmed"
    patient_turn, agent_turn = Conversation.objects.get().turns.all()
    inbound = read("Communication", patient_turn.communication_id)
    outbound = read("Communication", agent_turn.communication_id)
    assert inbound["payload"][0]["contentString"] == "Yes, I'll be there on time"
    assert outbound["inResponseTo"] == [{"reference": f"Communication/{patient_turn.communication_id}"}]
    provenance = read("Provenance", agent_turn.provenance_id)
    assert provenance["agent"][0]["who"]["display"] == "mederi-frontdesk (model rules+naive-bayes, version 1)"
    assert provenance["entity"][0]["what"]["reference"] == f"Communication/{patient_turn.communication_id}"
    step = AuditEntry.objects.get(action="ai-agent")
    assert step.patient_id == PATIENT and json.loads(step.detail)["outcome"] == "confirmed"


def test_cancelling_is_asked_first_and_only_yes_cancels(appointment):
    asked = say("I can't make it tomorrow, please cancel")
    assert asked.outcome == "cancel-asked" and "Reply YES to cancel or NO to keep it" in asked.answer
    assert read("Appointment", appointment)["status"] == "booked"
    kept = say("no")
    assert kept.outcome == "kept" and read("Appointment", appointment)["status"] == "booked"
    say("cancel my appointment please")
    done = say("yes")
    assert done.outcome == "cancelled" and "is cancelled" in done.answer
    cancelled = read("Appointment", appointment)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"]["text"] == services.CANCEL_REASON


def test_rescheduling_offers_real_open_times_and_books_only_the_one_picked(appointment):
    offer = say("Can I move my appointment to another day?")
    assert offer.outcome == "slots-offered"
    offered = Conversation.objects.get().offered
    assert len(offered) == 3 and "Reply with the number, or NONE." in offer.answer
    assert read("Appointment", appointment)["start"] == "2026-03-05T09:00:00Z"  # nothing moved yet
    assert "1) " + offered[0]["label"] in offer.answer
    booked = say("2")
    assert booked.outcome == "rescheduled" and booked.intent == "pick-slot"
    moved = read("Appointment", appointment)
    assert datetime.fromisoformat(moved["start"].replace("Z", "+00:00")) == datetime.fromisoformat(offered[1]["start"])
    assert Conversation.objects.get().state == Conversation.OPEN


def test_a_wish_for_the_afternoon_or_a_weekday_is_honoured_when_there_is_such_time(appointment):
    scheduling.add_weekly_hours(Context.system("test"), "eval-dr", "eval-clinic", 2, *_afternoon())
    say("can we do Wednesday afternoon instead")
    offered = Conversation.objects.get().offered
    assert offered and all(slot["weekday"] == 2 and slot["hour"] >= 13 for slot in offered)


def _afternoon():
    from datetime import time

    return time(13), time(17)


def test_none_of_the_offered_times_brings_later_ones_and_a_time_can_be_named(appointment):
    say("I need to reschedule")
    first = Conversation.objects.get().offered
    later = say("none of those work")
    assert later.outcome == "slots-offered"
    second = Conversation.objects.get().offered
    assert second[0]["start"] > first[-1]["start"]
    named = second[2]
    reply = say(f"{named['label'].split()[0]} {named['hour'] % 12 or 12}:{named['minute']:02d} please")
    assert reply.outcome == "rescheduled"
    assert read("Appointment", appointment)["start"].startswith(named["start"][:16])


def test_a_slot_taken_meanwhile_is_not_double_booked_and_new_times_are_offered(appointment):
    say("reschedule please")
    offered = Conversation.objects.get().offered
    taken = datetime.fromisoformat(offered[0]["start"])
    scheduling.book_appointment(Context.system("test"), PATIENT, "eval-dr", "eval-clinic", taken, "follow-up")
    reply = say("1")
    assert reply.outcome == "slots-offered" and reply.answer.startswith("Sorry, that time was just taken.")
    assert read("Appointment", appointment)["start"] == "2026-03-05T09:00:00Z"
    assert all(slot["start"] != offered[0]["start"] for slot in Conversation.objects.get().offered)


def test_running_late_tells_the_front_desk_with_the_minutes(appointment):
    reply = say("Stuck in traffic, running 15 min late")
    assert reply.outcome == "late-noted" and "about 15 min late" in reply.answer
    (task,) = tasks("front-desk")
    assert task["code"]["coding"][0]["code"] == "running-late"
    assert task["focus"] == {"reference": f"Appointment/{appointment}"}
    assert task["note"][0]["text"] == "Patient about 15 min late for Thu Mar 5 at 9:00 AM."


def test_hours_and_directions_come_from_the_location(appointment):
    hours = say("what are your hours?")
    assert hours.outcome == "answered"
    assert hours.answer == "Riverside main clinic: Mon-Fri 8 AM-5 PM, Sat 9 AM-12 PM."
    sunday = say("are you open on sunday?")
    assert sunday.answer == "Riverside main clinic: Mon-Fri 8 AM-5 PM, Sat 9 AM-12 PM. Closed on Sundays."
    directions = say("where do I park?")
    assert directions.answer == ("Riverside main clinic: 12 River Road, Springfield, IL 62701. Free parking behind "
                                 "the building; enter from Mill Street.")


@pytest.mark.parametrize("text, queue, code", [
    ("I need a refill of my lisinopril", "refills", "refill"),
    ("Why was I charged twice for the same visit?", "billing", "billing-question"),
])
def test_refills_and_billing_questions_reach_their_queue_with_the_message(appointment, text, queue, code):
    reply = say(text, channel="email")
    assert reply.outcome == f"task:{queue}"
    (task,) = tasks(queue)
    assert task["code"]["coding"][0]["code"] == code and task["for"] == {"reference": f"Patient/{PATIENT}"}
    assert task["input"][0]["valueString"] == text
    assert Turn.objects.get(speaker=Turn.PATIENT).task_id


def test_a_refill_asked_along_with_something_else_is_queued_too(appointment):
    reply = say("I'm running late, and could you also refill my inhaler")
    assert reply.outcome == "late-noted"
    assert len(tasks("refills")) == 1 and len(tasks("front-desk")) == 1


def test_asking_for_a_person_hands_over_and_the_agent_then_stays_silent(appointment):
    reply = say("Can I talk to a real person please")
    assert reply.outcome == "handed-over" and "member of our staff" in reply.answer
    conversation = Conversation.objects.get()
    assert conversation.state == Conversation.WITH_STAFF and conversation.handover_reason
    assert tasks("front-desk")[0]["code"]["coding"][0]["code"] == "handover"
    later = say("yes I'll be there")
    assert later.answer is None and later.outcome == "with-staff"
    assert "extension" not in read("Appointment", appointment)


def test_a_message_in_another_language_is_handed_over_with_a_clear_note_and_changes_nothing(appointment):
    reply = say("Hola, necesito cancelar mi cita de mañana")
    assert reply.intent == "other_language" and reply.outcome == "handed-over"
    assert reply.answer.endswith("Una persona de nuestro equipo le responderá pronto.")
    assert "Spanish" in Conversation.objects.get().handover_reason
    assert read("Appointment", appointment)["status"] == "booked"


def test_an_unsure_guess_goes_to_a_person(appointment):
    reply = say("I have a rash on my arm since yesterday")
    assert reply.intent == "unknown" and reply.outcome == "handed-over"


@pytest.mark.parametrize("channel, text, problem", [
    ("sms", "   ", "The message is empty"),
    ("fax", "hello", "'fax' is not a channel"),
    ("sms", "x" * 2001, "longer than 2000 characters"),
])
def test_bad_input_gets_a_clear_message_and_stores_nothing(appointment, channel, text, problem):
    before = record_row_counts()
    with pytest.raises(InvalidRequest) as refused:
        services.handle_message(channel, text, patient_id=PATIENT)
    assert problem in refused.value.issues[0].diagnostics
    assert record_row_counts() == before and not Conversation.objects.exists()


def test_a_sender_found_by_phone_or_email(appointment):
    by_phone = services.handle_message("voice", "I will be there", address="+1 555 123 0001")
    by_email = services.handle_message("email", "What is your address?", address="maria.lopez@example.org")
    assert {c.patient_id for c in Conversation.objects.all()} == {PATIENT}
    assert by_phone.outcome == "confirmed" and by_email.outcome == "answered"


def test_an_unknown_sender_is_handed_to_a_person(appointment):
    reply = services.handle_message("sms", "please cancel my appointment", address="+15559999999")
    assert reply.outcome == "handed-over"
    assert read("Appointment", appointment)["status"] == "booked"


def test_an_appointment_already_past_is_not_touched(appointment, frozen):
    frozen.advance(days=4)
    reply = say("I'll be there")
    assert reply.outcome == "handed-over" and "could not find an upcoming appointment" in reply.answer
    assert "extension" not in read("Appointment", appointment)
