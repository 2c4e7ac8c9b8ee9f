"""Sending planned messages.

`send_due_reminders()` claims due messages one by one with a conditional UPDATE (pending ->
sending) so two workers never send the same one, sends them, records the outcome, retries
failures with backoff up to MEDERI_REMINDER_MAX_ATTEMPTS, and writes a FHIR Communication for
each message sent. `send_now` is the front desk's "Send reminder now".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse

from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest, MederiError
from mederi.fhir.repository import Repository
from mederi.scheduling.reminders import templating, timing, voice
from mederi.scheduling.reminders.appointments import (
    AppointmentInfo,
    appointment_facts,
    appointment_info,
    load_appointment,
    medium,
    reminders_repository,
    zone_of,
)
from mederi.scheduling.reminders.channels import Outgoing, SendError, channel_for, setting, uses_standin
from mederi.scheduling.reminders.incoming import record_delivery_status
from mederi.scheduling.reminders.models import (
    CHANNELS,
    SMS,
    VOICE,
    EarlyDeliveryReport,
    ReminderMessage,
)
from mederi.scheduling.reminders.planning import (
    close_message,
    rules_for,
    schedule_reminders,
    why_not_remindable,
    why_unwanted,
)
from mederi.scheduling.reminders.preferences import reachability

log = logging.getLogger(__name__)
REMINDER_MESSAGE = "urn:mederi:reminder-message"  # Communication.identifier: the ReminderMessage id
# A message left "sending" this long belongs to a worker that stopped mid-send.
STUCK_AFTER = timedelta(minutes=15)


def max_attempts() -> int:
    return int(setting("MEDERI_REMINDER_MAX_ATTEMPTS", 4))


def retry_delay(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: the base delay, four times longer after each failure."""
    base = float(setting("MEDERI_REMINDER_RETRY_SECONDS", 60))
    return timedelta(seconds=base * 4 ** max(attempts - 1, 0))


@dataclass
class SendSummary:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1


def claim(message_id: int, now: datetime) -> bool:
    """Take a due message for sending; False if another worker took it (or it is no longer due)."""
    return bool(ReminderMessage.objects.filter(
        pk=message_id, status=ReminderMessage.PENDING, send_after__lte=now,
    ).update(status=ReminderMessage.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now))


def send_due_reminders(limit: int = 500) -> SendSummary:
    """Send every message that is due (at most `limit` this run); what each became is counted."""
    now = clock.now()
    summary = SendSummary()
    _fail_stuck(now)
    due = list(ReminderMessage.objects.filter(status=ReminderMessage.PENDING, send_after__lte=now)
               .order_by("send_after", "id").values_list("id", flat=True)[:limit])
    for message_id in due:
        if claim(message_id, clock.now()):
            summary.add(deliver_claimed(message_id))
    return summary


def send_one(message_id: int) -> str:
    """Send one message now if it is due and nobody else has it; returns its status afterwards."""
    if claim(message_id, clock.now()):
        return deliver_claimed(message_id)
    return ReminderMessage.objects.filter(pk=message_id).values_list("status", flat=True).first() or "missing"


def _fail_stuck(now: datetime) -> None:
    ReminderMessage.objects.filter(status=ReminderMessage.SENDING, claimed_at__lt=now - STUCK_AFTER).update(
        status=ReminderMessage.FAILED, updated_at=now,
        last_error="the sender stopped while sending this message; it may have gone out, so it was not sent again")


@dataclass
class _Prepared:
    outgoing: Outgoing
    appointment: AppointmentInfo


def deliver_claimed(message_id: int) -> str:
    """Send a message this worker has claimed (status sending); returns its status afterwards."""
    message = ReminderMessage.objects.select_related("rule").get(pk=message_id)
    repo = reminders_repository()
    try:
        prepared = _prepare(repo, message)
    except MederiError as error:
        return _after_failure(message, f"could not prepare the message: {error}", retry=True)
    except SendError as error:
        return _after_failure(message, str(error), retry=error.retry)
    except Exception as error:  # nothing was sent yet: safe to try again later
        log.exception("reminders: preparing message %s failed", message_id)
        return _after_failure(message, f"could not prepare the message: {error}", retry=True)
    if prepared is None:
        return message.status
    try:
        result = channel_for(message.channel).send(prepared.outgoing)
    except SendError as error:
        return _after_failure(message, str(error), retry=error.retry)
    except Exception as error:  # a fault of ours after the hand-over may have begun: never risk a second send
        log.exception("reminders: sending message %s failed unexpectedly", message_id)
        return _after_failure(message, f"sending failed unexpectedly ({error}); not retried", retry=False)
    return _after_success(repo, message, prepared, result.provider_message_id, result.delivered)


def _prepare(repo: Repository, message: ReminderMessage) -> _Prepared | None:
    """The message to send, or None after closing it (the appointment changed, the patient can't be reached)."""
    now = clock.now()
    appointment = load_appointment(repo, message.appointment_id)
    if appointment is None or not appointment.remindable:
        close_message(message, ReminderMessage.CANCELLED, why_not_remindable(appointment))
        return None
    if appointment.start <= now:
        close_message(message, ReminderMessage.SKIPPED, "the appointment time had passed")
        return None
    zone = zone_of(repo, appointment)
    if message.rule is not None:
        if not message.rule.active:
            close_message(message, ReminderMessage.CANCELLED, "the rule was turned off")
            return None
        due = timing.due_time(appointment.start, message.rule.offset_amount, message.rule.offset_unit, zone)
        if due != message.due_at or (message.rule.appointment_type
                                     and message.rule.appointment_type != appointment.type_code):
            # Changed by someone who did not tell us (an outside FHIR client): plan again instead.
            close_message(message, ReminderMessage.CANCELLED, why_unwanted(message.rule, appointment, zone))
            schedule_reminders(appointment.id)
            return None
    reach = reachability(repo, appointment.patient_id)[message.channel]
    if not reach.possible:
        close_message(message, ReminderMessage.SKIPPED, reach.reason)
        return None
    facts = appointment_facts(repo, appointment, zone)
    body = templating.render(_template_of(message, appointment), facts, message.channel)
    message.recipient, message.body = reach.address, body
    message.save(update_fields=["recipient", "body", "updated_at"])
    callback = status_callback_url() if message.channel in (SMS, VOICE) else None
    outgoing = Outgoing(message.channel, reach.address, body, templating.subject(facts), callback,
                        _call_instructions(message))
    return _Prepared(outgoing, appointment)


def _call_instructions(message: ReminderMessage) -> str:
    """A call's TwiML ("" for other channels and the in-process stand-in); SendError when calls cannot be made."""
    if message.channel != VOICE or uses_standin(VOICE):
        return ""
    try:
        return voice.call_twiml(message)
    except voice.VoiceUnavailable as problem:
        raise SendError(str(problem), retry=True) from problem


def _template_of(message: ReminderMessage, appointment: AppointmentInfo) -> str:
    if message.rule is not None:
        return message.rule.template
    # Sent by hand: the text of a rule for this channel and type if there is one.
    rules = sorted((r for r in rules_for(appointment.type_code) if r.channel == message.channel),
                   key=lambda r: (r.appointment_type == "", r.pk))
    return rules[0].template if rules else templating.DEFAULT_TEMPLATES[message.channel]


def status_callback_url() -> str | None:
    """Where the SMS/voice provider reports delivery: MEDERI_REMINDER_WEBHOOK_BASE + our webhook."""
    base = setting("MEDERI_REMINDER_WEBHOOK_BASE", "")
    if not base:
        return None
    try:
        return base.rstrip("/") + reverse("reminders:status-callback")
    except NoReverseMatch:
        return None


def _after_failure(message: ReminderMessage, error: str, *, retry: bool) -> str:
    now = clock.now()
    if retry and message.attempts < max_attempts():
        message.status = ReminderMessage.PENDING
        message.send_after = now + retry_delay(message.attempts)
        message.last_error = f"attempt {message.attempts} failed: {error}"
    else:
        message.status = ReminderMessage.FAILED
        tries = f" (gave up after {message.attempts} attempts)" if retry else ""
        message.last_error = f"{error}{tries}"
    message.save(update_fields=["status", "send_after", "last_error", "updated_at"])
    log.warning("reminders: message %s for Appointment/%s: %s", message.pk, message.appointment_id,
                message.last_error)
    return message.status


def _after_success(repo: Repository, message: ReminderMessage, prepared: _Prepared, provider_id: str,
                   delivered: bool) -> str:
    now = clock.now()
    message.status = ReminderMessage.DELIVERED if delivered else ReminderMessage.SENT
    message.provider_message_id = provider_id
    message.sent_at = now
    message.delivered_at = now if delivered else None
    message.last_error = ""
    message.save(update_fields=["status", "provider_message_id", "sent_at", "delivered_at", "last_error",
                                "updated_at"])
    # The chart's record of it comes second: a failure to write it must not make the message look unsent.
    try:
        stored = repo.update("Communication", communication_id(message), _communication(message, prepared)).stored
        message.communication_id = stored.logical_id
        message.save(update_fields=["communication_id", "updated_at"])
    except Exception as error:
        log.exception("reminders: message %s was sent but its Communication was not written", message.pk)
        message.last_error = f"sent, but its record in the chart could not be written: {error}"
        message.save(update_fields=["last_error", "updated_at"])
    for early in EarlyDeliveryReport.objects.filter(provider_message_id=provider_id).order_by("id"):
        message = record_delivery_status(provider_id, early.status, early.error_code) or message
        early.delete()
    return message.status


def communication_id(message: ReminderMessage) -> str:
    return f"reminder-{message.pk}"


def _communication(message: ReminderMessage, prepared: _Prepared) -> dict:
    patient = {"reference": f"Patient/{prepared.appointment.patient_id}"}
    resource = {
        "resourceType": "Communication",
        "id": communication_id(message),
        "identifier": [{"system": REMINDER_MESSAGE, "value": str(message.pk)}],
        "status": "completed",
        "category": [{"coding": [{"system": systems.COMMUNICATION_CATEGORY, "code": "reminder",
                                  "display": "Reminder"}]}],
        "medium": medium(message.channel),
        "subject": patient,
        "about": [{"reference": f"Appointment/{message.appointment_id}"}],
        "recipient": [patient],
        "sent": clock.fhir_instant(message.sent_at),
        "payload": [{"contentString": message.body}],
    }
    if message.delivered_at:
        resource["received"] = clock.fhir_instant(message.delivered_at)
    return resource


def send_now(context: Context, appointment_id: str, channel: str) -> ReminderMessage:
    """The front desk's "Send reminder now": one message by `channel`, sent at once by a worker.

    Pressing the button twice within a minute sends one message.
    """
    if "scheduling.write" not in context.permissions and not context.is_system:
        raise Forbidden("sending a reminder needs the permission to change scheduling records")
    if channel not in dict(CHANNELS):
        raise InvalidRequest.single("choose email, SMS or voice", expression="channel")
    repo = Repository(context)
    appointment = appointment_info(repo.read("Appointment", appointment_id))
    if not appointment.remindable:
        raise InvalidRequest.single(f"nothing to remind of: {why_not_remindable(appointment)}",
                                    expression="channel")
    now = clock.now()
    if appointment.start <= now:
        raise InvalidRequest.single("the appointment has already begun", expression="channel")
    due = now.replace(second=0, microsecond=0)
    with transaction.atomic():
        message, created = ReminderMessage.objects.get_or_create(
            appointment_id=appointment_id, rule=None, channel=channel, due_at=due,
            defaults={"patient_id": appointment.patient_id, "send_after": due,
                      "requested_by": context.user_name or ""})
        if created:
            transaction.on_commit(lambda: _send_later(message.pk))
    return message


def _send_later(message_id: int) -> None:
    from mederi.scheduling.reminders import tasks

    tasks.send_reminder(message_id)


# -- what comes back ---------------------------------------------------------------------------------
