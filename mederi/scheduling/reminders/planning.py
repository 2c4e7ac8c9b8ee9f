"""Reminder rules and the messages they plan.

- `schedule_reminders(appointment_id)` (re)computes the messages one appointment should get
  from the active rules; called when an appointment is booked, moved or cancelled, and by a daily
  sweep (`sweep_upcoming`) for appointments written by outside FHIR clients. It never touches a
  message that was handed to a provider, and the unique (appointment, rule, due time) keeps it from
  adding twins.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import Forbidden, Gone, InvalidRequest, NotFound
from mederi.scheduling.reminders import templating, timing
from mederi.scheduling.reminders.appointments import (
    REMINDABLE,
    AppointmentInfo,
    load_appointment,
    reminders_repository,
    zone_of,
)
from mederi.scheduling.reminders.channels import setting
from mederi.scheduling.reminders.models import (
    CHANNELS,
    OFFSET_UNITS,
    EarlyDeliveryReport,
    ReminderMessage,
    ReminderRule,
)
from mederi.scheduling.reminders.preferences import Reach, reachability

log = logging.getLogger(__name__)
# A reminder planned after its time by more than this is skipped rather than sent late.
LATE_GRACE = timedelta(minutes=10)
MAX_OFFSET = timedelta(days=60)
APPOINTMENT_TYPE_CODE = re.compile(r"^[A-Za-z0-9\-._]{1,64}$")


def _require_write(context: Context) -> None:
    if not (context.is_system or "scheduling.write" in context.permissions):
        raise Forbidden("changing reminder rules needs the permission to change scheduling records")


def check_rule(*, name: str, appointment_type: str, offset_amount, offset_unit: str, channel: str,
               template: str) -> None:
    """Raise InvalidRequest naming the field (expression) that is wrong."""
    if not (name or "").strip():
        raise InvalidRequest.single("give the rule a name, e.g. \"SMS 2 hours before\"", code="required",
                                    expression="name")
    if len(name.strip()) > 100:
        raise InvalidRequest.single("the name may have at most 100 characters", expression="name")
    if appointment_type and not APPOINTMENT_TYPE_CODE.match(appointment_type):
        raise InvalidRequest.single("an appointment type code has 1-64 letters, digits, '-', '.' or '_' "
                                    "(leave it blank for every type)", expression="appointment_type")
    if offset_unit not in dict(OFFSET_UNITS):
        raise InvalidRequest.single("choose days, hours or minutes", expression="offset_unit")
    if not isinstance(offset_amount, int) or isinstance(offset_amount, bool) or offset_amount < 1:
        raise InvalidRequest.single("the time before the appointment must be a whole number of at least 1",
                                    expression="offset_amount")
    if timedelta(**{offset_unit: offset_amount}) > MAX_OFFSET:
        raise InvalidRequest.single("a reminder can be sent at most 60 days before the appointment",
                                    expression="offset_amount")
    if channel not in dict(CHANNELS):
        raise InvalidRequest.single("choose email, SMS or voice", expression="channel")
    templating.check_template(template, channel)


def save_rule(context: Context, rule_id: int | None = None, *, name: str, appointment_type: str = "",
              offset_amount: int, offset_unit: str, channel: str, template: str, active: bool = True
              ) -> ReminderRule:
    """Create (no `rule_id`) or change a rule; upcoming appointments get their reminders planned again."""
    _require_write(context)
    appointment_type = (appointment_type or "").strip()
    check_rule(name=name, appointment_type=appointment_type, offset_amount=offset_amount, offset_unit=offset_unit,
               channel=channel, template=template)
    fields = {"name": name.strip(), "appointment_type": appointment_type, "offset_amount": offset_amount,
              "offset_unit": offset_unit, "channel": channel, "template": template.strip(), "active": active}
    with transaction.atomic():
        if rule_id is None:
            rule = ReminderRule.objects.create(**fields)
        else:
            rule = ReminderRule.objects.select_for_update().filter(pk=rule_id).first()
            if rule is None:
                raise NotFound(f"reminder rule {rule_id} does not exist")
            for key, value in fields.items():
                setattr(rule, key, value)
            rule.save()
        if not active:
            _cancel_pending_of_rule(rule)
        transaction.on_commit(_replan_later)
    return rule


def set_rule_active(context: Context, rule_id: int, active: bool) -> ReminderRule:
    """Turn a rule off (its pending messages are cancelled) or on again."""
    _require_write(context)
    with transaction.atomic():
        rule = ReminderRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(f"reminder rule {rule_id} does not exist")
        rule.active = active
        rule.save(update_fields=["active", "updated_at"])
        if not active:
            _cancel_pending_of_rule(rule)
        transaction.on_commit(_replan_later)
    return rule


def _cancel_pending_of_rule(rule: ReminderRule) -> None:
    rule.messages.filter(status__in=(ReminderMessage.PENDING, ReminderMessage.SKIPPED)).update(
        status=ReminderMessage.CANCELLED, last_error="the rule was turned off", updated_at=clock.now())


def _replan_later() -> None:
    from mederi.scheduling.reminders import tasks

    tasks.sweep_upcoming_appointments_now()


def rules_for(type_code: str) -> list[ReminderRule]:
    return list(ReminderRule.objects.filter(Q(appointment_type="") | Q(appointment_type=type_code), active=True))


# -- planning ----------------------------------------------------------------------------------------


def why_not_remindable(appointment: AppointmentInfo | None) -> str:
    if appointment is None:
        return "the appointment no longer exists"
    if appointment.status == "cancelled":
        return "the appointment was cancelled"
    if appointment.status not in REMINDABLE:
        return f"the appointment is now {appointment.status}"
    if appointment.start is None:
        return "the appointment has no start time"
    return "the appointment has no patient"


def _planned_status(due: datetime, now: datetime, appointment: AppointmentInfo, reach: Reach, zone
                    ) -> tuple[str, str]:
    if appointment.start <= now:
        return ReminderMessage.SKIPPED, "the appointment time had passed"
    if due < now - LATE_GRACE:
        return ReminderMessage.SKIPPED, (f"planned after its time ({timing.local_date_text(due, zone)} "
                                         f"{timing.local_time_text(due, zone)})")
    if not reach.possible:
        return ReminderMessage.SKIPPED, reach.reason
    return ReminderMessage.PENDING, ""


def _unreachable(reason: str) -> dict[str, Reach]:
    return {channel: Reach(channel, reason=reason) for channel, _ in CHANNELS}


def schedule_reminders(appointment_id: str) -> list[ReminderMessage]:
    """(Re)compute the reminders of one appointment; returns all its messages, due first.

    Called on book, reschedule and cancel (on commit), by the daily sweep, and safe to call any
    number of times: messages already handed to a provider are never touched or repeated.
    """
    repo = reminders_repository()
    appointment = load_appointment(repo, appointment_id)
    now = clock.now()
    if appointment is None or not appointment.remindable:
        _cancel_open(appointment_id, why_not_remindable(appointment))
        return list(ReminderMessage.objects.filter(appointment_id=appointment_id))
    zone = zone_of(repo, appointment)
    wanted: dict[tuple[int, datetime], ReminderRule] = {}
    for rule in rules_for(appointment.type_code):
        due = timing.due_time(appointment.start, rule.offset_amount, rule.offset_unit, zone)
        wanted[(rule.pk, due)] = rule
    try:
        reach = reachability(repo, appointment.patient_id)
    except (NotFound, Gone):
        reach = _unreachable(f"Patient/{appointment.patient_id} does not exist")
    with transaction.atomic():
        existing = {(m.rule_id, m.due_at): m for m in ReminderMessage.objects.select_for_update()
                    .filter(appointment_id=appointment_id, rule__isnull=False).select_related("rule")}
        for key, message in existing.items():
            if key not in wanted and message.status in (ReminderMessage.PENDING, ReminderMessage.SKIPPED):
                close_message(message, ReminderMessage.CANCELLED, why_unwanted(message.rule, appointment, zone))
        for (rule_id, due), rule in wanted.items():
            channel_reach = reach[rule.channel]
            status, reason = _planned_status(due, now, appointment, channel_reach, zone)
            message = existing.get((rule_id, due))
            if message is None:
                _create_planned(appointment, rule, due, status, reason, channel_reach)
            elif message.status in (ReminderMessage.PENDING, ReminderMessage.SKIPPED, ReminderMessage.CANCELLED):
                if message.status == ReminderMessage.PENDING and reason.startswith("planned after"):
                    continue  # planned in time, only sent late (a worker was down): the sender decides
                if (message.status, message.last_error, message.recipient) != (status, reason,
                                                                               channel_reach.address):
                    message.status, message.last_error = status, reason
                    message.recipient = channel_reach.address
                    message.patient_id = appointment.patient_id
                    message.save(update_fields=["status", "last_error", "recipient", "patient_id", "updated_at"])
    return list(ReminderMessage.objects.filter(appointment_id=appointment_id))


def why_unwanted(rule: ReminderRule, appointment: AppointmentInfo, zone) -> str:
    if not rule.active:
        return "the rule was turned off"
    if rule.appointment_type and rule.appointment_type != appointment.type_code:
        return "the appointment type changed"
    return (f"the appointment moved to {timing.local_date_text(appointment.start, zone)} "
            f"{timing.local_time_text(appointment.start, zone)}")


def _create_planned(appointment: AppointmentInfo, rule: ReminderRule, due: datetime, status: str, reason: str,
                    reach: Reach) -> None:
    try:
        with transaction.atomic():
            ReminderMessage.objects.create(
                appointment_id=appointment.id, patient_id=appointment.patient_id, rule=rule, channel=rule.channel,
                due_at=due, send_after=due, status=status, last_error=reason, recipient=reach.address)
    except IntegrityError:
        pass  # planned meanwhile by another call (book and sweep at once): one message, as it should be


def close_message(message: ReminderMessage, status: str, reason: str) -> None:
    message.status, message.last_error = status, reason
    message.save(update_fields=["status", "last_error", "updated_at"])


def _cancel_open(appointment_id: str, reason: str) -> None:
    ReminderMessage.objects.filter(
        appointment_id=appointment_id, status__in=(ReminderMessage.PENDING, ReminderMessage.SKIPPED)
    ).update(status=ReminderMessage.CANCELLED, last_error=reason, updated_at=clock.now())


def sweep_upcoming(days: int | None = None, start: datetime | None = None) -> int:
    """Plan reminders for every booked appointment of the next `days` (MEDERI_REMINDER_SWEEP_DAYS) from
    `start` (now), and re-plan every appointment with a message still pending; returns how many were planned."""
    days = days if days is not None else int(setting("MEDERI_REMINDER_SWEEP_DAYS", 8))
    repo = reminders_repository()
    now = start or clock.now()
    ids: list[str] = []
    page, offset = 500, 0
    while True:
        result = repo.search("Appointment", [
            ("date", f"ge{clock.fhir_instant(now)}"), ("date", f"le{clock.fhir_instant(now + timedelta(days=days))}"),
            ("status", ",".join(REMINDABLE)), ("_sort", "date"), ("_count", str(page)), ("_offset", str(offset)),
            ("_total", "none")])
        ids += [stored.logical_id for stored in result.matches]
        if len(result.matches) < page:
            break
        offset += page
    EarlyDeliveryReport.objects.filter(received_at__lt=clock.now() - timedelta(days=1)).delete()
    pending = ReminderMessage.objects.filter(status=ReminderMessage.PENDING).values_list("appointment_id", flat=True)
    ids += [i for i in pending.distinct() if i not in set(ids)]
    planned = 0
    for appointment_id in dict.fromkeys(ids):
        try:
            schedule_reminders(appointment_id)
            planned += 1
        except Exception:  # one broken appointment must not stop the others
            log.exception("reminders: could not plan the reminders of Appointment/%s", appointment_id)
    return planned


# -- sending -----------------------------------------------------------------------------------------
