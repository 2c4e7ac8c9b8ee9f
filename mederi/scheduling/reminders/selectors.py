"""Reads of the reminders app for the staff pages, authorized and audited as the person reading."""

from __future__ import annotations

from dataclasses import dataclass, field

from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import Forbidden
from mederi.fhir.repository import Repository
from mederi.scheduling.reminders import channels, timing
from mederi.scheduling.reminders.appointments import REMINDABLE, appointment_info, reminders_repository, zone_of
from mederi.scheduling.reminders.models import CHANNELS, LocalOutboxMessage, ReminderMessage, ReminderRule
from mederi.scheduling.reminders.preferences import reachability


@dataclass
class MessageRow:
    message: ReminderMessage
    channel: str
    due: str
    status: str
    status_label: str
    detail: str  # the reason (failed, skipped, cancelled) or the next try
    attempts: int
    origin: str  # the rule, or who sent it by hand
    recipient: str
    replies: list[str] = field(default_factory=list)


@dataclass
class ChannelChoice:
    channel: str
    label: str
    reason: str  # why it cannot be used now; "" when it can


@dataclass
class AppointmentReminders:
    appointment_id: str
    patient_id: str
    when: str
    status: str
    can_send: bool  # the appointment is still ahead and remindable
    rows: list[MessageRow]
    channels: list[ChannelChoice]
    local_standin: bool  # messages stay on this machine (demo stand-in)


def _moment(value, zone) -> str:
    return f"{timing.local_date_text(value, zone)}, {timing.local_time_text(value, zone)}" if value else ""


def _row(message: ReminderMessage, zone) -> MessageRow:
    detail = message.last_error
    if message.status == ReminderMessage.PENDING and message.attempts:
        detail = f"{message.last_error}; next try {_moment(message.send_after, zone)}"
    elif message.status == ReminderMessage.DELIVERED and message.delivered_at:
        detail = detail or f"delivered {_moment(message.delivered_at, zone)}"
    elif message.status == ReminderMessage.SENT and message.sent_at:
        detail = detail or f"sent {_moment(message.sent_at, zone)}"
    if message.rule is not None:
        origin = f"{message.rule.name} ({message.rule.offset_text})"
    else:
        origin = f"sent by hand{' by ' + message.requested_by if message.requested_by else ''}"
    replies = [f"Replied “{reply.body}” — {reply.get_outcome_display().lower()}" for reply in message.replies.all()]
    return MessageRow(message, message.get_channel_display(), _moment(message.due_at, zone), message.status,
                      message.get_status_display(), detail, message.attempts, origin, message.recipient, replies)


def reminders_for_appointment(context: Context, appointment_id: str) -> AppointmentReminders:
    """An appointment's reminders as the front desk sees them; logged as a read of the appointment."""
    repo = Repository(context)
    appointment = appointment_info(repo.read("Appointment", appointment_id))
    zone = zone_of(reminders_repository(), appointment)
    read = [f"Appointment/{appointment_id}"]
    choices = []
    reach = {}
    if appointment.patient_id:
        try:
            reach = reachability(repo, appointment.patient_id)
            read.append(f"Patient/{appointment.patient_id}")
        except Forbidden:
            reach = {}
    for channel, label in CHANNELS:
        found = reach.get(channel)
        choices.append(ChannelChoice(channel, label, found.reason if found else ""))
    audit.record(context, "read", patient_id=appointment.patient_id or None, resource_type="Appointment",
                 resource_ids=read, query="ui: reminders of an appointment")
    messages = (ReminderMessage.objects.filter(appointment_id=appointment_id).select_related("rule")
                .prefetch_related("replies").order_by("due_at", "id"))
    ahead = appointment.status in REMINDABLE and appointment.start is not None and appointment.start > clock.now()
    return AppointmentReminders(
        appointment_id=appointment_id, patient_id=appointment.patient_id,
        when=_moment(appointment.start, zone), status=appointment.status, can_send=ahead,
        rows=[_row(message, zone) for message in messages], channels=choices,
        local_standin=any(channels.uses_standin(channel) for channel, _ in CHANNELS))


def rules() -> list[ReminderRule]:
    return list(ReminderRule.objects.all())


def outbox(limit: int = 100) -> list[LocalOutboxMessage]:
    return list(LocalOutboxMessage.objects.all()[:limit])
