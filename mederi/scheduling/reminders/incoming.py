"""What comes back from the provider: delivery reports and patients' replies.

`record_delivery_status` marks a message delivered or failed; `receive_reply` acts on a patient's
"C" (confirm) or "X" (cancel), which changes the Appointment, and on opt-out and opt-in words.
A reply in the patient's own words is offered first to whoever listens on `text_reply_received`
(the front-desk agent, mederi.ai.agent); when nobody takes it, the patient is asked again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal

from mederi.core import clock, systems
from mederi.core.errors import Conflict, MederiError, PreconditionFailed
from mederi.fhir.repository import Repository
from mederi.scheduling.reminders.appointments import (
    REMINDABLE,
    AppointmentInfo,
    appointment_facts,
    load_appointment,
    medium,
    reminders_repository,
)
from mederi.scheduling.reminders.models import (
    SMS,
    EarlyDeliveryReport,
    ReminderMessage,
    ReminderReply,
)
from mederi.scheduling.reminders.planning import schedule_reminders
from mederi.scheduling.reminders.preferences import REMINDER_CONSENT, normalize_phone

log = logging.getLogger(__name__)
CONFIRMED_EXTENSION = "urn:mederi:appointment-confirmed"
CANCEL_TEXT = "Cancelled by patient reply to reminder"
CONFIRM_WORDS = {"c", "yes", "y", "confirm", "confirmed", "ok"}
CANCEL_WORDS = {"x", "cancel", "cancelled", "canceled"}
# The carriers' opt-out and opt-in words: the provider answers them itself; we record the patient's wish.
OPT_OUT_WORDS = {"stop", "stopall", "unsubscribe", "end", "quit"}
OPT_IN_WORDS = {"start", "unstop"}
# What a provider's delivery error codes mean, for the front desk.
DELIVERY_ERRORS = {
    "30003": "the phone is switched off or out of reach",
    "30004": "the patient has blocked messages from the practice",
    "30005": "the number does not exist or is no longer in service",
    "30006": "the number is a landline or cannot receive texts",
    "30007": "the carrier filtered the message",
    "30008": "the carrier reported an unknown error",
}
DELIVERED_STATUSES = {"delivered", "read", "completed"}
FAILED_STATUSES = {"undelivered", "failed", "busy", "no-answer", "canceled"}
# Sent with message (the ReminderMessage replied to), body and keyword (True for a plain confirm or cancel
# word); a receiver that takes the reply returns (ReminderReply outcome, answer), otherwise None.
text_reply_received = Signal()


def record_delivery_status(provider_message_id: str, status: str, error_code: str = "") -> ReminderMessage | None:
    """The provider's word on a message: delivered or failed (other statuses change nothing)."""
    status = (status or "").strip().lower()
    message = ReminderMessage.objects.filter(provider_message_id=provider_message_id).first() \
        if provider_message_id else None
    if message is None:
        if provider_message_id and (status in DELIVERED_STATUSES or status in FAILED_STATUSES):
            # Perhaps faster than the sender saving the id: kept for it (the daily sweep drops old ones).
            EarlyDeliveryReport.objects.create(provider_message_id=provider_message_id[:255], status=status,
                                               error_code=str(error_code or "")[:16], received_at=clock.now())
        log.info("reminders: a delivery report for unknown message %r (%s) was kept aside", provider_message_id,
                 status)
        return None
    now = clock.now()
    if status in DELIVERED_STATUSES and message.status != ReminderMessage.DELIVERED:
        message.status, message.delivered_at, message.last_error = ReminderMessage.DELIVERED, now, ""
    elif status in FAILED_STATUSES and message.status not in (ReminderMessage.DELIVERED, ReminderMessage.FAILED):
        meaning = DELIVERY_ERRORS.get(str(error_code or ""))
        message.status = ReminderMessage.FAILED
        message.last_error = (f"not delivered: the provider reported {status}"
                              + (f" (error {error_code}: {meaning})" if meaning else
                                 f" (error {error_code})" if error_code else ""))
    else:
        return message
    message.save(update_fields=["status", "delivered_at", "last_error", "updated_at"])
    _note_delivery_in_chart(message)
    return message


def _note_delivery_in_chart(message: ReminderMessage) -> None:
    if not message.communication_id:
        return
    repo = reminders_repository()
    for _ in range(3):
        try:
            stored = repo.read("Communication", message.communication_id)
            resource = stored.as_dict()
            if message.status == ReminderMessage.DELIVERED:
                resource["received"] = clock.fhir_instant(message.delivered_at)
                resource.pop("statusReason", None)
            else:
                resource["statusReason"] = {"text": message.last_error}
            repo.update("Communication", stored.logical_id, resource, if_match=stored.version_id)
            return
        except (PreconditionFailed, Conflict):
            continue
        except MederiError as error:
            log.warning("reminders: could not note delivery of message %s in the chart: %s", message.pk, error)
            return


@dataclass(frozen=True)
class ReplyOutcome:
    outcome: str  # ReminderReply outcomes: confirmed, cancelled, unclear, ignored
    answer: str | None  # the text to send back to the patient, None to stay silent
    appointment_id: str | None = None
    awaiting: bool = False  # the answer asks the patient something (on a call: listen again)
    reply_id: int | None = None  # the ReminderReply that logged it


def _keyword(body: str) -> str:
    return re.sub(r"[^a-z]", "", (body or "").strip().lower())


def _masked(number: str) -> str:
    return f"…{number[-4:]}" if len(number) > 4 else "…"


def receive_reply(from_number: str, body: str, provider_message_id: str = "") -> ReplyOutcome:
    """A patient's text: "C" (or yes/confirm) confirms, "X" (or cancel) cancels the appointment of the
    newest reminder texted to that number; anything else asks again. Unknown numbers are ignored."""
    number = normalize_phone(from_number)
    now = clock.now()
    message = (ReminderMessage.objects.filter(channel=SMS, recipient=number,
                                              status__in=(ReminderMessage.SENT, ReminderMessage.DELIVERED))
               .exclude(recipient="").order_by("-sent_at", "-id").first()) if number else None
    if message is None:
        log.info("reminders: a text from %s matched no reminder sent to that number; ignored", _masked(number))
        ReminderReply.objects.create(from_number=number or from_number[:64], body=body or "",
                                     outcome=ReminderReply.IGNORED, detail="no reminder was sent to this number",
                                     provider_message_id=provider_message_id, received_at=now)
        return ReplyOutcome(ReminderReply.IGNORED, None)
    return _answer_reply(message, number, body, provider_message_id, now)


def receive_spoken_reply(message: ReminderMessage, transcript: str, call_sid: str = "") -> ReplyOutcome:
    """What a patient said after a reminder call (already transcribed): acted on as a text would be."""
    return _answer_reply(message, message.recipient, transcript, call_sid, clock.now())


def _answer_reply(message: ReminderMessage, number: str, body: str, provider_message_id: str,
                  now: datetime) -> ReplyOutcome:
    repo = reminders_repository()
    word = _keyword(body)
    awaiting = False
    if message.channel == SMS and word in OPT_OUT_WORDS | OPT_IN_WORDS:
        outcome, answer = _record_text_preference(repo, message.patient_id, word in OPT_IN_WORDS, body, now), None
    else:
        taken = _taken_by_listener(message, body, word in CONFIRM_WORDS | CANCEL_WORDS)
        if taken is not None:
            outcome, answer, awaiting = taken
        else:
            outcome, answer = _act_on_reply(repo, load_appointment(repo, message.appointment_id), word, now)
            awaiting = outcome == ReminderReply.UNCLEAR
    reply = ReminderReply.objects.create(message=message, from_number=number, body=body or "", outcome=outcome,
                                         detail=answer or "", provider_message_id=provider_message_id,
                                         received_at=now)
    _record_reply_in_chart(repo, message, body, now)
    if outcome == ReminderReply.CANCELLED:
        schedule_reminders(message.appointment_id)
    return ReplyOutcome(outcome, answer, message.appointment_id, awaiting, reply.pk)


def _taken_by_listener(message: ReminderMessage, body: str, keyword: bool) -> tuple[str, str | None, bool] | None:
    """(outcome, answer, whether the answer waits for the patient's choice) from the first listener that took
    the reply."""
    for _, taken in text_reply_received.send(sender=ReminderMessage, message=message, body=body or "",
                                             keyword=keyword):
        if taken is not None:
            return taken
    return None


def _act_on_reply(repo: Repository, appointment: AppointmentInfo | None, word: str, now: datetime
                  ) -> tuple[str, str]:
    if appointment is None:
        return ReminderReply.IGNORED, "We could not find this appointment any more. Please call us."
    facts = appointment_facts(repo, appointment)
    when = f"{facts.date} at {facts.time}"
    if appointment.status == "cancelled":
        return ReminderReply.IGNORED, (f"Your appointment on {when} is already cancelled. Please call us to book "
                                       "a new time.")
    if appointment.status not in REMINDABLE or appointment.start is None or appointment.start <= now:
        return ReminderReply.IGNORED, "This appointment is no longer ahead of you. Please call us if you need help."
    if word in CONFIRM_WORDS:
        _change_appointment(repo, appointment.id, _confirmed)
        return ReminderReply.CONFIRMED, (f"Thank you, {facts.patient_first_name}. Your appointment with "
                                         f"{facts.provider} on {when} is confirmed.")
    if word in CANCEL_WORDS:
        _change_appointment(repo, appointment.id, _cancelled)
        return ReminderReply.CANCELLED, (f"Your appointment with {facts.provider} on {when} is cancelled. "
                                         "Please call us to book a new time.")
    return ReminderReply.UNCLEAR, (f"Sorry, we did not understand. Reply C to confirm or X to cancel your "
                                   f"appointment on {when}.")


def _record_text_preference(repo: Repository, patient_id: str, welcome: bool, body: str, now: datetime) -> str:
    """A patient texted STOP (or START): a Consent saying so, which later reminders by text obey."""
    words = "may send SMS reminders" if welcome else "no SMS reminders"
    repo.create({
        "resourceType": "Consent", "status": "active", "dateTime": clock.fhir_instant(now),
        "scope": {"coding": [{"system": systems.CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": systems.CONSENT_CATEGORY, "code": "59284-0",
                                  "display": "Consent Document"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "policyRule": {"text": "Reminder preferences"},
        "provision": {"type": "permit" if welcome else "deny", "code": [{
            "coding": [{"system": REMINDER_CONSENT, "code": "reminders-sms"}],
            "text": f"{words} (the patient texted {body.strip()[:20]})"}]},
    })
    if not welcome:
        ReminderMessage.objects.filter(patient_id=patient_id, channel=SMS, status=ReminderMessage.PENDING).update(
            status=ReminderMessage.SKIPPED, last_error="the patient texted STOP: no more text messages",
            updated_at=now)
    return ReminderReply.OPTED_IN if welcome else ReminderReply.OPTED_OUT


def _confirmed(resource: dict) -> dict:
    for participant in resource.get("participant") or []:
        if ((participant.get("actor") or {}).get("reference") or "").startswith("Patient/"):
            participant["status"] = "accepted"
    extensions = [e for e in resource.get("extension") or [] if e.get("url") != CONFIRMED_EXTENSION]
    resource["extension"] = extensions + [{"url": CONFIRMED_EXTENSION,
                                           "valueDateTime": clock.fhir_instant(clock.now())}]
    return resource


def _cancelled(resource: dict) -> dict:
    resource["status"] = "cancelled"
    resource["cancelationReason"] = {
        "coding": [{"system": systems.CANCEL_REASON, "code": "pat", "display": "Patient"}],
        "text": CANCEL_TEXT,
    }
    return resource


def confirm_appointment(repo: Repository, appointment_id: str) -> None:
    """What a "C" does to the Appointment: the patient accepted it (also used for replies in other words)."""
    _change_appointment(repo, appointment_id, _confirmed)


def _change_appointment(repo: Repository, appointment_id: str, change) -> None:
    """Apply `change` to the current Appointment, again on a fresh copy if someone changed it meanwhile."""
    for attempt in range(3):
        stored = repo.read("Appointment", appointment_id)
        try:
            repo.update("Appointment", appointment_id, change(stored.as_dict()), if_match=stored.version_id)
            return
        except (PreconditionFailed, Conflict):
            if attempt == 2:
                raise


def _record_reply_in_chart(repo: Repository, message: ReminderMessage, body: str, now: datetime) -> None:
    patient = {"reference": f"Patient/{message.patient_id}"}
    resource = {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"coding": [{"system": systems.COMMUNICATION_CATEGORY, "code": "reminder",
                                  "display": "Reminder"}]}],
        "medium": medium(message.channel),
        "subject": patient,
        "sender": patient,
        "about": [{"reference": f"Appointment/{message.appointment_id}"}],
        "received": clock.fhir_instant(now),
        "payload": [{"contentString": body or ""}],
    }
    if message.communication_id:
        resource["inResponseTo"] = [{"reference": f"Communication/{message.communication_id}"}]
    try:
        repo.create(resource)
    except MederiError as error:
        log.warning("reminders: the reply to message %s was not recorded in the chart: %s", message.pk, error)
