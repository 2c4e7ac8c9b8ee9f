"""Writes of the reminders app: planning messages, sending them, and acting on what comes back.

- `schedule_reminders(appointment_id)` (re)computes the messages one appointment should get
  from the active rules; called when an appointment is booked, moved or cancelled, and by a daily
  sweep for appointments written by outside FHIR clients. It never touches a message that was
  handed to a provider, and the unique (appointment, rule, due time) keeps it from adding twins.
- `send_due_reminders()` claims due messages one by one with a conditional UPDATE (pending ->
  sending) so two workers never send the same one, sends them, records the outcome, retries
  failures with backoff up to MEDERI_REMINDER_MAX_ATTEMPTS, and writes a FHIR Communication for
  each message sent.
- `record_delivery_status` and `receive_reply` act on the provider's callbacks: delivered or
  failed, and a patient's "C" (confirm) or "X" (cancel), which changes the Appointment.

Appointments, patients and Communications are read and written through the repository, as the
server itself acting for reminders (`Context.system("reminders")`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse

from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Conflict, Forbidden, Gone, InvalidRequest, MederiError, NotFound, PreconditionFailed
from mederi.fhir.repository import Repository
from mederi.scheduling.reminders import templating, timing
from mederi.scheduling.reminders.channels import Outgoing, SendError, channel_for, setting
from mederi.scheduling.reminders.models import (
    CHANNELS,
    EMAIL,
    OFFSET_UNITS,
    SMS,
    VOICE,
    EarlyDeliveryReport,
    ReminderMessage,
    ReminderReply,
    ReminderRule,
)
from mederi.scheduling.reminders.preferences import REMINDER_CONSENT, Reach, normalize_phone, reachability

log = logging.getLogger(__name__)

REMINDABLE = ("booked", "pending")  # appointment statuses still ahead of the patient
CONFIRMED_EXTENSION = "urn:mederi:appointment-confirmed"
REMINDER_MESSAGE = "urn:mederi:reminder-message"  # Communication.identifier: the ReminderMessage id
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MEDIUM = {EMAIL: ("EMAILWRIT", "email"), SMS: ("SMSWRIT", "SMS message"), VOICE: ("PHONE", "telephone")}
CHANNEL_WORDS = {EMAIL: "email", SMS: "text message", VOICE: "phone call"}
CANCEL_TEXT = "Cancelled by patient reply to reminder"
# A reminder planned after its time by more than this is skipped rather than sent late.
LATE_GRACE = timedelta(minutes=10)
# A message left "sending" this long belongs to a worker that stopped mid-send.
STUCK_AFTER = timedelta(minutes=15)
MAX_OFFSET = timedelta(days=60)
APPOINTMENT_TYPE_CODE = re.compile(r"^[A-Za-z0-9\-._]{1,64}$")
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


def _system() -> Repository:
    return Repository(Context.system("reminders"))


def max_attempts() -> int:
    return int(setting("MEDERI_REMINDER_MAX_ATTEMPTS", 4))


def retry_delay(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: the base delay, four times longer after each failure."""
    base = float(setting("MEDERI_REMINDER_RETRY_SECONDS", 60))
    return timedelta(seconds=base * 4 ** max(attempts - 1, 0))


# -- reading an appointment ------------------------------------------------------------------------


@dataclass
class AppointmentInfo:
    """What reminders need of an Appointment, read through the repository."""

    id: str
    version: int
    resource: dict
    status: str
    start: datetime | None
    type_code: str
    patient_id: str
    practitioner_ref: str
    practitioner_display: str
    location_ref: str
    location_display: str

    @property
    def remindable(self) -> bool:
        return self.status in REMINDABLE and self.start is not None and bool(self.patient_id)


def _actor(resource: dict, prefixes: tuple[str, ...]) -> tuple[str, str]:
    for participant in resource.get("participant") or []:
        actor = participant.get("actor") or {}
        reference = actor.get("reference") or ""
        if reference.startswith(prefixes):
            return reference, actor.get("display") or ""
    return "", ""


def appointment_info(stored) -> AppointmentInfo:
    resource = stored.as_dict()
    type_code = ""
    for coding in (resource.get("appointmentType") or {}).get("coding") or []:
        if coding.get("system") == systems.APPOINTMENT_TYPE and coding.get("code"):
            type_code = coding["code"]
            break
    patient_ref, _ = _actor(resource, ("Patient/",))
    practitioner_ref, practitioner_display = _actor(resource, ("Practitioner/", "PractitionerRole/"))
    location_ref, location_display = _actor(resource, ("Location/",))
    return AppointmentInfo(
        id=stored.logical_id, version=stored.version_id, resource=resource, status=resource.get("status") or "",
        start=timing.parse_instant(resource.get("start")), type_code=type_code,
        patient_id=patient_ref.partition("/")[2], practitioner_ref=practitioner_ref,
        practitioner_display=practitioner_display, location_ref=location_ref, location_display=location_display)


def _load_appointment(repo: Repository, appointment_id: str) -> AppointmentInfo | None:
    try:
        return appointment_info(repo.read("Appointment", appointment_id))
    except (NotFound, Gone):
        return None


def _read_or_none(repo: Repository, reference: str) -> dict | None:
    kind, _, logical_id = reference.partition("/")
    if not kind or not logical_id:
        return None
    try:
        return repo.read(kind, logical_id).as_dict()
    except (NotFound, Gone, Forbidden):
        return None


def _person_name(resource: dict | None) -> str:
    names = (resource or {}).get("name") or []
    if not names:
        return ""
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if name.get("text"):
        return name["text"]
    parts = (name.get("prefix") or [])[:1] + (name.get("given") or [])[:1] + [name.get("family") or ""]
    return " ".join(p for p in parts if p)


def _first_name(patient: dict | None) -> str:
    for name in (patient or {}).get("name") or []:
        if name.get("given"):
            return name["given"][0]
    for name in (patient or {}).get("name") or []:
        if name.get("family"):
            return name["family"]
    return "patient"


def zone_of(repo: Repository, appointment: AppointmentInfo):
    location = _read_or_none(repo, appointment.location_ref) if appointment.location_ref else None
    return timing.practice_timezone(location)


def appointment_facts(repo: Repository, appointment: AppointmentInfo, zone=None) -> templating.AppointmentFacts:
    """The words a reminder says about an appointment, in the practice's time zone."""
    zone = zone or zone_of(repo, appointment)
    patient = _read_or_none(repo, f"Patient/{appointment.patient_id}") if appointment.patient_id else None
    provider = appointment.practitioner_display
    if not provider and appointment.practitioner_ref:
        practitioner = _read_or_none(repo, appointment.practitioner_ref)
        if practitioner and practitioner.get("resourceType") == "PractitionerRole":
            practitioner = _read_or_none(repo, (practitioner.get("practitioner") or {}).get("reference") or "")
        provider = _person_name(practitioner)
    location = appointment.location_display
    if not location and appointment.location_ref:
        location = (_read_or_none(repo, appointment.location_ref) or {}).get("name") or ""
    start = appointment.start
    return templating.AppointmentFacts(
        patient_first_name=_first_name(patient),
        date=timing.local_date_text(start, zone) if start else "",
        time=timing.local_time_text(start, zone) if start else "",
        provider=provider or "your clinician",
        location=location or "our clinic",
    )


# -- rules -----------------------------------------------------------------------------------------


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


def _why_not_remindable(appointment: AppointmentInfo | None) -> str:
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
    repo = _system()
    appointment = _load_appointment(repo, appointment_id)
    now = clock.now()
    if appointment is None or not appointment.remindable:
        _cancel_open(appointment_id, _why_not_remindable(appointment))
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
                _close(message, ReminderMessage.CANCELLED, _why_unwanted(message.rule, appointment, zone))
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


def _why_unwanted(rule: ReminderRule, appointment: AppointmentInfo, zone) -> str:
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


def _close(message: ReminderMessage, status: str, reason: str) -> None:
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
    repo = _system()
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
    repo = _system()
    try:
        prepared = _prepare(repo, message)
    except MederiError as error:
        return _after_failure(message, f"could not prepare the message: {error}", retry=True)
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
    appointment = _load_appointment(repo, message.appointment_id)
    if appointment is None or not appointment.remindable:
        _close(message, ReminderMessage.CANCELLED, _why_not_remindable(appointment))
        return None
    if appointment.start <= now:
        _close(message, ReminderMessage.SKIPPED, "the appointment time had passed")
        return None
    zone = zone_of(repo, appointment)
    if message.rule is not None:
        if not message.rule.active:
            _close(message, ReminderMessage.CANCELLED, "the rule was turned off")
            return None
        due = timing.due_time(appointment.start, message.rule.offset_amount, message.rule.offset_unit, zone)
        if due != message.due_at or (message.rule.appointment_type
                                     and message.rule.appointment_type != appointment.type_code):
            # Changed by someone who did not tell us (an outside FHIR client): plan again instead.
            _close(message, ReminderMessage.CANCELLED, _why_unwanted(message.rule, appointment, zone))
            schedule_reminders(appointment.id)
            return None
    reach = reachability(repo, appointment.patient_id)[message.channel]
    if not reach.possible:
        _close(message, ReminderMessage.SKIPPED, reach.reason)
        return None
    facts = appointment_facts(repo, appointment, zone)
    body = templating.render(_template_of(message, appointment), facts, message.channel)
    message.recipient, message.body = reach.address, body
    message.save(update_fields=["recipient", "body", "updated_at"])
    callback = status_callback_url() if message.channel in (SMS, VOICE) else None
    outgoing = Outgoing(message.channel, reach.address, body, templating.subject(facts), callback)
    return _Prepared(outgoing, appointment)


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


def _medium(channel: str) -> list[dict]:
    code, display = MEDIUM[channel]
    return [{"coding": [{"system": PARTICIPATION_MODE, "code": code, "display": display}]}]


def _communication(message: ReminderMessage, prepared: _Prepared) -> dict:
    patient = {"reference": f"Patient/{prepared.appointment.patient_id}"}
    resource = {
        "resourceType": "Communication",
        "id": communication_id(message),
        "identifier": [{"system": REMINDER_MESSAGE, "value": str(message.pk)}],
        "status": "completed",
        "category": [{"coding": [{"system": systems.COMMUNICATION_CATEGORY, "code": "reminder",
                                  "display": "Reminder"}]}],
        "medium": _medium(message.channel),
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
        raise InvalidRequest.single(f"nothing to remind of: {_why_not_remindable(appointment)}",
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
    repo = _system()
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
    repo = _system()
    word = _keyword(body)
    if word in OPT_OUT_WORDS | OPT_IN_WORDS:
        outcome, answer = _record_text_preference(repo, message.patient_id, word in OPT_IN_WORDS, body, now), None
    else:
        outcome, answer = _act_on_reply(repo, _load_appointment(repo, message.appointment_id), word, now)
    ReminderReply.objects.create(message=message, from_number=number, body=body or "", outcome=outcome,
                                 detail=answer or "", provider_message_id=provider_message_id, received_at=now)
    _record_reply_in_chart(repo, message, body, now)
    if outcome == ReminderReply.CANCELLED:
        schedule_reminders(message.appointment_id)
    return ReplyOutcome(outcome, answer, message.appointment_id)


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
        "medium": _medium(SMS),
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
