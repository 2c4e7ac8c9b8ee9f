"""Where patients' messages reach the agent from: reminder replies by text, and the staff screen's
"message as the patient" box (how the front desk tries the agent, and enters a call's transcript)."""

from __future__ import annotations

import logging

from mederi.ai.agent import services
from mederi.ai.agent.classifier import UNKNOWN
from mederi.ai.agent.models import Conversation
from mederi.core.errors import MederiError
from mederi.scheduling.reminders.models import ReminderReply

log = logging.getLogger(__name__)
# What the reminders' reply log calls an agent's outcome (its own words are in the reply's detail).
REPLY_OUTCOMES = {"confirmed": ReminderReply.CONFIRMED, "cancelled": ReminderReply.CANCELLED}


def reminder_reply(sender, *, message, body: str, keyword: bool, **_) -> tuple[str, str | None, bool] | None:
    """A text or a call's spoken answer replying to a reminder: the agent takes it when a conversation waits
    for this answer, or when it is more than "C"/"X" and the agent understands it; otherwise the reminders
    keep their own answer. Returns (outcome, answer, whether the answer waits for the patient's choice)."""
    if not message.patient_id:
        return None
    channel = message.channel
    state = Conversation.objects.filter(channel=channel, patient_id=message.patient_id).values_list(
        "state", flat=True).first()
    pending = state in services.AWAITING or (state == Conversation.WITH_STAFF and not keyword)
    if keyword and not pending:
        return None
    engine = services.default_engine()
    understood = None if pending else engine.understand(body)
    if understood is not None and understood.intent == UNKNOWN:
        return None  # the reminders ask again for C or X, as before
    try:
        reply = services.handle_message(channel, body, patient_id=message.patient_id, address=message.recipient,
                                        appointment_id=message.appointment_id, inbound_recorded=True, engine=engine,
                                        understood=understood)
    except MederiError as problem:
        log.warning("agent: the reply to reminder %s was left to the reminders: %s", message.pk, problem)
        return None
    return REPLY_OUTCOMES.get(reply.outcome, ReminderReply.UNCLEAR), reply.answer, reply.awaiting
