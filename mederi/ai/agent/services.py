"""The front-desk agent: a patient's message in, an action and a short answer out.

`handle_message` finds (or starts) the conversation of that patient on that channel and acts on
what the message asks, in the conversation's state:

- open: confirm, cancel (asked first: "Cancel ...? Reply YES"), reschedule (up to three real open
  slots of the same provider, place and visit type, from the scheduling selectors), running late,
  office hours and directions (from the Location resources), refill and billing questions (a Task in
  the right staff queue), or a person (on request, when the engine is unsure, in another language);
- offering: the patient's pick ("2", "the second", "Tue 9:30") books that slot; "none" offers later ones;
- confirming-cancel: yes cancels, no keeps the appointment;
- with-staff: a person has the conversation; the agent records the message and stays silent.

Nothing is booked or cancelled without the patient's own choice in their last message. Every message
is a Communication in the record (the agent's with its Provenance), every step an "ai-agent" audit
entry, and every step a Turn the staff screen shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import IntegrityError, transaction

from mederi.ai.agent import classifier, records
from mederi.ai.agent.engines import IntentEngine, default_engine, label
from mederi.ai.agent.language import HANDOVER_LINES
from mederi.ai.agent.models import Conversation, Turn
from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest, MederiError
from mederi.scheduling import availability, practice_time
from mederi.scheduling import services as scheduling

log = logging.getLogger(__name__)
CHANNELS = ("sms", "email", "portal", "voice")
MAX_MESSAGE = 2000
OFFER_COUNT = 3
CANCEL_REASON = "Cancelled by the patient in a message to the practice"
YES = {"yes", "y", "yeah", "yep", "ok", "okay", "sure", "please do", "yes please", "confirm", "correct"}
AWAITING = (Conversation.OFFERING, Conversation.CONFIRMING_CANCEL)  # states waiting for the patient's choice
HANDED_OVER = "Thank you. A member of our staff will read your message and reply soon."
NO = {"no", "n", "nope", "no thanks", "keep it", "don't cancel", "dont cancel"}


@dataclass(frozen=True)
class AgentReply:
    conversation_id: int
    intent: str
    confidence: float | None
    outcome: str  # confirmed, cancel-asked, cancelled, kept, slots-offered, rescheduled, late-noted, answered,
    #              task:<queue>, handed-over, with-staff
    answer: str | None  # what to send back; None: a person answers
    awaiting: bool = False  # the answer asks the patient to choose (a time offered, "cancel it?")


@dataclass
class _Step:
    outcome: str
    answer: str | None
    task_id: str = ""
    note: str = ""  # for staff, shown in the conversation
    intent: str = ""  # what the message turned out to be, when the state decided it ("pick-slot")


def _clean(channel: str, text: str) -> str:
    if channel not in CHANNELS:
        raise InvalidRequest.single(f"'{channel}' is not a channel the agent answers; use one of "
                                    f"{', '.join(CHANNELS)}.", expression="channel")
    text = (text or "").strip()
    if not text:
        raise InvalidRequest.single("The message is empty: there is nothing to answer.", expression="text")
    if len(text) > MAX_MESSAGE:
        raise InvalidRequest.single(f"The message is longer than {MAX_MESSAGE} characters; a person should read it.",
                                    expression="text")
    return text


def conversation_for(channel: str, patient_id: str, address: str) -> Conversation:
    """The one conversation of this patient (or unknown sender) on this channel, locked for this message."""
    key = {"channel": channel, "patient_id": patient_id} if patient_id else {
        "channel": channel, "patient_id": "", "address": address}
    found = Conversation.objects.select_for_update().filter(**key).first()
    if found:
        if address and found.address != address:
            found.address = address
        return found
    now = clock.now()
    try:
        with transaction.atomic():
            return Conversation.objects.create(**{"address": address, **key}, started_at=now, updated_at=now)
    except IntegrityError:  # started by a message that arrived at the same moment
        return Conversation.objects.select_for_update().get(**key)


def handle_message(channel: str, text: str, *, patient_id: str = "", address: str = "", appointment_id: str = "",
                   inbound_recorded: bool = False, engine: IntentEngine | None = None,
                   understood: classifier.Understanding | None = None, hand_over: str | None = None) -> AgentReply:
    """Act on one patient message and return the answer to send (None when a person will answer).
    `understood`: the engine's reading of `text` when the caller already asked for it; `hand_over`: why a
    person must answer this message whatever it asks (an email whose sender could not be verified)."""
    text = _clean(channel, text)
    engine = engine or default_engine()
    patient_id = patient_id or records.find_patient(channel, address)
    with transaction.atomic():
        conversation = conversation_for(channel, patient_id, address)
        inbound = "" if inbound_recorded else records.record_message(
            patient_id=patient_id, channel=channel, text=text, from_patient=True,
            appointment_id=appointment_id or conversation.appointment_id)
        if appointment_id:
            conversation.appointment_id = appointment_id
        understood = (classifier.Understanding("", 0.0) if conversation.state == Conversation.WITH_STAFF
                      else understood or engine.understand(text))
        incoming = Turn.objects.create(conversation=conversation, speaker=Turn.PATIENT, text=text,
                                       intent=understood.intent, confidence=understood.confidence or None,
                                       engine=label(engine) if understood.intent else "", communication_id=inbound,
                                       created_at=clock.now())
        if hand_over and conversation.state != Conversation.WITH_STAFF:
            step = _hand_over(conversation, text, hand_over, HANDED_OVER)
        else:
            step = _act(conversation, text, understood, engine)
        if step.intent:
            understood = classifier.Understanding(step.intent, 1.0)
        incoming.intent, incoming.confidence = understood.intent, understood.confidence or None
        incoming.outcome, incoming.task_id = step.outcome, step.task_id
        incoming.save(update_fields=["intent", "confidence", "outcome", "task_id"])
        if step.note:
            Turn.objects.create(conversation=conversation, speaker=Turn.NOTE, text=step.note, outcome=step.outcome,
                                task_id=step.task_id, created_at=clock.now())
        answer = step.answer
        if answer is not None:
            answer = engine.word(answer, intent=understood.intent)
            _agent_says(conversation, answer, understood, engine, inbound, step.outcome)
        conversation.updated_at = clock.now()
        conversation.save()
        audit.record(Context.system(records.AGENT_PURPOSE), "ai-agent", patient_id=patient_id or None,
                     resource_type="Communication", resource_ids=[i for i in (inbound,) if i],
                     detail={"conversation": conversation.pk, "channel": channel, "intent": understood.intent,
                             "confidence": understood.confidence, "outcome": step.outcome,
                             "engine": label(engine), "task": step.task_id,
                             "appointment": conversation.appointment_id})
    return AgentReply(conversation.pk, understood.intent, understood.confidence, step.outcome, answer,
                      conversation.state in AWAITING)


def _agent_says(conversation: Conversation, answer: str, understood, engine: IntentEngine, inbound: str,
                outcome: str) -> None:
    sent = records.record_message(patient_id=conversation.patient_id, channel=conversation.channel, text=answer,
                                  from_patient=False, appointment_id=conversation.appointment_id,
                                  in_response_to=inbound, sender_display="Riverside front-desk agent (automated)")
    provenance = records.record_provenance(f"Communication/{sent}", label(engine), inbound,
                                           f"front-desk agent answer ({understood.intent or 'reply'})") if sent else ""
    Turn.objects.create(conversation=conversation, speaker=Turn.AGENT, text=answer, intent=understood.intent,
                        outcome=outcome, engine=label(engine), communication_id=sent, provenance_id=provenance,
                        created_at=clock.now())


# -- acting on a message --------------------------------------------------------------------------------


def _act(conversation: Conversation, text: str, understood, engine: IntentEngine) -> _Step:
    if conversation.state == Conversation.WITH_STAFF:
        return _Step("with-staff", None)
    words = " ".join(classifier.normalised(text).split())
    if conversation.state == Conversation.CONFIRMING_CANCEL:
        if words in NO or words.startswith(("no ", "don't", "dont")):
            conversation.state = Conversation.OPEN
            upcoming = records.appointment(conversation.appointment_id)
            return _Step("kept", f"OK, your appointment{_on(upcoming)} stays booked.")
        if words in YES or understood.intent == "cancel":
            return _cancel(conversation)
        conversation.state = Conversation.OPEN  # something else: answer that instead
    if conversation.state == Conversation.OFFERING:
        picked = classifier.picked_option(text, conversation.offered)
        if picked is not None:
            return replace(_book(conversation, picked), intent="pick-slot")
        if classifier.NONE_OF_THEM.search(words):
            return replace(_offer(conversation, text, after=conversation.offered[-1]["start"]), intent="none-of-these")
        if understood.intent in ("unknown", "confirm"):
            return _Step("slots-offered", "Please reply with the number of the time you want: " +
                         _options(conversation.offered) + " Or reply NONE for other times.")
        conversation.state, conversation.offered = Conversation.OPEN, []
    step = _open(conversation, text, understood)
    for also in understood.also:  # "...and I need a refill": that goes to its queue too
        extra = _queue(conversation, text, also)
        step.task_id = step.task_id or extra.task_id
        step.note = "; ".join(filter(None, (step.note, extra.note)))
    return step


def _open(conversation: Conversation, text: str, understood) -> _Step:
    intent = understood.intent
    if intent == classifier.OTHER_LANGUAGE:
        line = HANDOVER_LINES.get(understood.language, "")
        return _hand_over(conversation, text, f"The message seems to be in {understood.language}: a person who "
                                              f"reads it should answer.",
                          "Thank you. A member of our staff will contact you soon." + (f" {line}" if line else ""))
    if intent == "human":
        return _hand_over(conversation, text, "The patient asked for a person.",
                          "Of course. A member of our staff will contact you soon.")
    if intent == classifier.UNKNOWN:
        return _hand_over(conversation, text, f"The agent was not sure what the message asks "
                                              f"(best guess {understood.confidence:.2f}).", HANDED_OVER)
    if intent in ("office_hours", "directions"):
        return _Step("answered", _about_clinic(conversation, text, intent))
    if intent in ("refill", "billing"):
        return _queue(conversation, text, intent)
    upcoming = _upcoming(conversation)
    if upcoming is None:
        return _hand_over(conversation, text, "No upcoming appointment was found for this patient.",
                          "We could not find an upcoming appointment for you. A member of our staff will "
                          "contact you soon.")
    if intent == "confirm":
        return _confirm(conversation, upcoming)
    if intent == "cancel":
        conversation.state = Conversation.CONFIRMING_CANCEL
        return _Step("cancel-asked", f"Cancel your appointment with {upcoming.practitioner} on {upcoming.when}? "
                                     "Reply YES to cancel or NO to keep it.")
    if intent == "reschedule":
        return _offer(conversation, text)
    if intent == "running_late":
        minutes = classifier.minutes_late(text)
        late = f"about {minutes} min late" if minutes else "running late"
        step = _queue(conversation, text, "running_late", note=f"Patient {late} for {upcoming.when}.")
        return _Step("late-noted", f"Thanks for letting us know. We have told the front desk you are {late}. "
                                   "If you will be more than 15 minutes late, we may need to reschedule.",
                     step.task_id, step.note)
    return _hand_over(conversation, text, f"The agent cannot handle '{intent}'.",
                      "Thank you. A member of our staff will contact you soon.")


def _on(upcoming) -> str:
    return f" with {upcoming.practitioner} on {upcoming.when}" if upcoming else ""


def _upcoming(conversation: Conversation):
    if conversation.appointment_id:
        current = records.appointment(conversation.appointment_id)
        if current and current.view.status in ("booked", "pending") and current.view.start > clock.now():
            return current
    upcoming = records.next_appointment(conversation.patient_id)
    conversation.appointment_id = upcoming.view.id if upcoming else ""
    return upcoming


def _hand_over(conversation: Conversation, text: str, reason: str, answer: str) -> _Step:
    conversation.state, conversation.offered = Conversation.WITH_STAFF, []
    conversation.handover_reason = reason
    task = records.queue_task(patient_id=conversation.patient_id, queue="front-desk", request="handover",
                              request_display="Message needs a person", message=text, channel=conversation.channel,
                              note=reason, appointment_id=conversation.appointment_id)
    return _Step("handed-over", answer, task, f"Handed to the front desk: {reason}")


QUEUED = {  # intent: (queue, request code, what staff see, answer)
    "refill": ("refills", "refill", "Refill request",
               "Thanks. Your refill request has been sent to our clinical staff. Please allow 2 business days."),
    "billing": ("billing", "billing-question", "Billing question",
                "Thanks. Our billing office has your question and will contact you within 2 business days."),
    "running_late": ("front-desk", "running-late", "Patient running late", ""),
}


def _queue(conversation: Conversation, text: str, intent: str, note: str = "") -> _Step:
    queue, code, display, answer = QUEUED[intent]
    task = records.queue_task(patient_id=conversation.patient_id, queue=queue, request=code, request_display=display,
                              message=text, channel=conversation.channel, note=note,
                              appointment_id=conversation.appointment_id if intent == "running_late" else "")
    return _Step(f"task:{queue}", answer, task, note or f"{display} queued for {records.QUEUES[queue]}.")


def _about_clinic(conversation: Conversation, text: str, intent: str) -> str:
    clinics = records.clinics()
    upcoming = records.next_appointment(conversation.patient_id) if conversation.patient_id else None
    named = [c for c in clinics if any(word in text.lower() for word in c.get("name", "").lower().split()
                                       if len(word) > 4 and word not in ("clinic", "riverside"))]
    chosen = named or [c for c in clinics if upcoming and c.get("id") == upcoming.view.location_id] or clinics
    asked_days = classifier.preferences(text).get("weekdays", [])
    parts = []
    for clinic in chosen[:2]:
        if intent == "office_hours":
            hours = records.hours_text(clinic)
            closed = [day for day in asked_days if hours and not records.open_on(clinic, day)]
            parts.append((f"{clinic.get('name')}: {hours}." if hours else
                          f"{clinic.get('name')}: please call us for today's hours.")
                         + "".join(f" Closed on {classifier.WEEKDAYS[day].title()}s." for day in closed))
        else:
            extra = clinic.get("description", "")
            parts.append(f"{clinic.get('name')}: {records.address_text(clinic)}." + (f" {extra}" if extra else ""))
    return " ".join(parts) or "Please call us: a member of our staff will help."


def _confirm(conversation: Conversation, upcoming) -> _Step:
    from mederi.scheduling.reminders.incoming import confirm_appointment

    confirm_appointment(records.repository(), upcoming.view.id)
    return _Step("confirmed", f"Thank you. Your appointment with {upcoming.practitioner} on {upcoming.when} "
                              "is confirmed.")


def _cancel(conversation: Conversation) -> _Step:
    upcoming = records.appointment(conversation.appointment_id)
    conversation.state = Conversation.OPEN
    if upcoming is None or upcoming.view.status not in ("booked", "pending"):
        return _Step("kept", "That appointment is no longer booked. Please call us if you need help.")
    scheduling.cancel_appointment(Context.system(records.AGENT_PURPOSE), upcoming.view.id, "pat", CANCEL_REASON)
    return _Step("cancelled", f"Your appointment with {upcoming.practitioner} on {upcoming.when} is cancelled. "
                              "Reply RESCHEDULE if you would like a new time.")


def _slot_label(start: datetime) -> str:
    return practice_time.to_local(start).strftime("%a %b %-d %-I:%M %p")


def _options(offered: list[dict]) -> str:
    return " ".join(f"{n}) {slot['label']}" for n, slot in enumerate(offered, start=1))


def _offer(conversation: Conversation, text: str, after: str = "") -> _Step:
    upcoming = _upcoming(conversation)
    if upcoming is None:
        return _hand_over(conversation, text, "No upcoming appointment to move.",
                          "We could not find an upcoming appointment for you. A member of our staff will "
                          "contact you soon.")
    view = upcoming.view
    wanted = classifier.preferences(text) if not after else {}
    context = Context.system(records.AGENT_PURPOSE)
    slots = []
    try:
        for attempt in (wanted, {}) if wanted else ({},):
            found = availability.next_available(
                context, practitioner_ids=[view.practitioner_id], location_id=view.location_id,
                type_code=view.type_code, limit=OFFER_COUNT + 8, **attempt)
            slots = [s for s in found if s.start != view.start and (not after or s.start.isoformat() > after)]
            if slots:
                break
    except MederiError as problem:
        log.info("agent: no slots for appointment %s: %s", view.id, problem)
    if not slots:
        return _hand_over(conversation, text, "No open time was found for this provider and visit type.",
                          "We could not find an open time online. A member of our staff will contact you soon.")
    conversation.offered = [{"start": s.start.isoformat(), "practitioner_id": s.practitioner_id,
                             "location_id": s.location_id, "label": _slot_label(s.start),
                             "hour": s.local_start.hour, "minute": s.local_start.minute,
                             "weekday": s.local_start.weekday()} for s in slots[:OFFER_COUNT]]
    conversation.state = Conversation.OFFERING
    return _Step("slots-offered", f"We can move your visit with {upcoming.practitioner} to: "
                                  f"{_options(conversation.offered)}. Reply with the number, or NONE.")


def _book(conversation: Conversation, picked: int) -> _Step:
    slot = conversation.offered[picked]
    start = datetime.fromisoformat(slot["start"])
    try:
        with transaction.atomic():
            scheduling.reschedule_appointment(Context.system(records.AGENT_PURPOSE), conversation.appointment_id,
                                              start, practitioner_id=slot["practitioner_id"],
                                              location_id=slot["location_id"])
    except MederiError as problem:
        log.info("agent: slot %s could not be booked: %s", slot["start"], problem)
        again = _offer(conversation, "")
        if again.outcome == "slots-offered":
            again.answer = "Sorry, that time was just taken. " + again.answer
        return again
    conversation.state, conversation.offered = Conversation.OPEN, []
    upcoming = records.appointment(conversation.appointment_id)
    return _Step("rescheduled", f"Done: your appointment{_on(upcoming)} is booked. See you then.")


# -- staff ------------------------------------------------------------------------------------------------


def _staff_conversation(context: Context, conversation_id: int) -> Conversation:
    if context.patient_id:  # a patient may book their own visits, but never act as the front desk
        raise Forbidden("Only the practice's staff answer patients' conversations.")
    context.require("scheduling.write", "Taking over a patient's conversation needs the front desk's "
                                        "scheduling.write permission.")
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        raise InvalidRequest.single("That conversation does not exist (any more): reload the page.")
    return conversation


def take_over(context: Context, conversation_id: int) -> Conversation:
    """A person answers from now on; the agent records what arrives and stays silent."""
    with transaction.atomic():
        conversation = _staff_conversation(context, conversation_id)
        name = audit.actor_name(context)[:150]
        conversation.state, conversation.offered, conversation.taken_by = Conversation.WITH_STAFF, [], name
        conversation.updated_at = clock.now()
        conversation.save()
        Turn.objects.create(conversation=conversation, speaker=Turn.NOTE, text=f"{name} took over the conversation.",
                            staff_name=name, outcome="taken-over", created_at=clock.now())
        audit.record(context, "ai-takeover", patient_id=conversation.patient_id or None,
                     detail={"conversation": conversation.pk, "channel": conversation.channel})
    return conversation


def hand_back(context: Context, conversation_id: int) -> Conversation:
    """The person is done: the agent answers the patient's next message again."""
    with transaction.atomic():
        conversation = _staff_conversation(context, conversation_id)
        name = audit.actor_name(context)[:150]
        conversation.state, conversation.taken_by, conversation.handover_reason = Conversation.OPEN, "", ""
        conversation.updated_at = clock.now()
        conversation.save()
        Turn.objects.create(conversation=conversation, speaker=Turn.NOTE, staff_name=name, outcome="handed-back",
                            text=f"{name} gave the conversation back to the agent.", created_at=clock.now())
        audit.record(context, "ai-takeover", patient_id=conversation.patient_id or None,
                     detail={"conversation": conversation.pk, "handed_back": True})
    return conversation


def staff_reply(context: Context, conversation_id: int, text: str) -> Turn:
    """A person's answer: recorded in the chart and sent by the conversation's channel (text or email)."""
    text = (text or "").strip()
    if not text:
        raise InvalidRequest.single("Write the answer before sending it.", expression="text")
    if len(text) > MAX_MESSAGE:
        raise InvalidRequest.single(f"Keep the answer under {MAX_MESSAGE} characters.", expression="text")
    with transaction.atomic():
        conversation = _staff_conversation(context, conversation_id)
        name = audit.actor_name(context)[:150]
        if conversation.state != Conversation.WITH_STAFF:
            conversation.state, conversation.offered, conversation.taken_by = Conversation.WITH_STAFF, [], name
        sent = records.record_message(patient_id=conversation.patient_id, channel=conversation.channel, text=text,
                                      from_patient=False, appointment_id=conversation.appointment_id,
                                      sender_display=name)
        turn = Turn.objects.create(conversation=conversation, speaker=Turn.STAFF, text=text, staff_name=name,
                                   communication_id=sent, created_at=clock.now())
        conversation.updated_at = clock.now()
        conversation.save()
        audit.record(context, "ai-takeover", patient_id=conversation.patient_id or None,
                     resource_type="Communication", resource_ids=[sent] if sent else [],
                     detail={"conversation": conversation.pk, "reply": True})
    _deliver(conversation, text)
    return turn


def _deliver(conversation: Conversation, text: str) -> None:
    """Texts and emails go out through the reminders' channels; portal replies are read in the portal."""
    if conversation.channel not in ("sms", "email") or not conversation.address:
        return
    from mederi.scheduling.reminders.channels import Outgoing, SendError, channel_for

    try:
        channel_for(conversation.channel).send(Outgoing(conversation.channel, conversation.address, text,
                                                        subject="Your message to the practice"))
    except SendError as problem:
        log.warning("agent: the staff reply in conversation %s was not sent: %s", conversation.pk, problem)
        Turn.objects.create(conversation=conversation, speaker=Turn.NOTE, outcome="not-sent",
                            text=f"The answer above was not sent: {problem}. Call the patient.",
                            created_at=clock.now())


def close_request(context: Context, task_id: str) -> None:
    """A person dealt with a request the agent queued: the Task is completed, in their name."""
    if context.patient_id:
        raise Forbidden("Only the practice's staff close requests.")
    context.require("scheduling.write", "Closing a request needs the front desk's scheduling.write permission.")
    repo = records.repository()
    with transaction.atomic():
        try:
            stored = repo.read("Task", task_id)
        except MederiError:
            raise InvalidRequest.single("That request does not exist (any more): reload the page.") from None
        task = stored.as_dict()
        codes = {c.get("system") for c in (task.get("code") or {}).get("coding") or ()}
        if records.REQUEST_SYSTEM not in codes:
            raise InvalidRequest.single("That is not a request from patients' messages.")
        if task.get("status") != "requested":
            raise InvalidRequest.single(f"That request is already {task.get('status')}.")
        name = audit.actor_name(context)[:150]
        task.update(status="completed", lastModified=clock.fhir_instant(clock.now()), owner={"display": name})
        repo.update("Task", task_id, task, if_match=stored.version_id)
        audit.record(context, "update", patient_id=(task.get("for") or {}).get("reference", "")[8:] or None,
                     resource_type="Task", resource_ids=[task_id], detail={"completed": True})
