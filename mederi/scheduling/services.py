"""Scheduling writes: booking, rescheduling, cancelling, the front-desk stages, recurring series,
the waitlist, and the availability templates.

Appointments and Schedules are written through `Repository(context)`, which checks the caller's
permissions, validates, indexes and audits. A booking is checked and written in one database
transaction serialised per provider and day: on PostgreSQL by `SELECT ... FOR UPDATE` on the
`BookingLock` rows of the days it touches, on SQLite by the write transaction itself (settings
open every transaction with BEGIN IMMEDIATE, one writer at a time). Two people booking the same
time at the same moment therefore cannot both succeed: the second one's check runs after the
first one's write has committed and finds the time taken.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction

from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Gone, NotFound
from mederi.fhir.repository import Repository
from mederi.scheduling import availability, bookable, occupancy, practice_time, projection, records
from mederi.scheduling.availability import Interval
from mederi.scheduling.errors import BookingError, NotPermitted, SlotTaken
from mederi.scheduling.models import (
    PALETTE,
    AppointmentType,
    BookingLock,
    Break,
    Holiday,
    OverbookRule,
    ScheduleException,
    WaitlistEntry,
    WeeklyHours,
)

log = logging.getLogger(__name__)

MAX_SERIES = 104  # two years of weekly visits
PLANNING_HORIZON_DAYS = 366
SCOPES = ("one", "future")


# -- small helpers ------------------------------------------------------------------------------


def _require(context: Context, permission: str) -> None:
    if context.is_system or permission in context.permissions:
        return
    raise NotPermitted(f"your roles do not allow this: it needs the permission {permission}")


def _aware(moment, field: str = "start") -> datetime:
    """A datetime in UTC; a naive one is the practice's local time."""
    if not isinstance(moment, datetime):
        raise BookingError.at(field, f"'{moment}' is not a date and time; give one like 2026-03-02 10:30.")
    return practice_time.to_utc(moment)


def _days_touched(start: datetime, end: datetime) -> list[date]:
    first = practice_time.local_day(start)
    last = practice_time.local_day(end - timedelta(microseconds=1)) if end > start else first
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _lock(keys) -> None:
    """Serialise bookings per (practitioner, local day): take the lock rows in one fixed order
    (no two transactions wait on each other in a circle)."""
    keys = sorted(set(keys))
    if not keys:
        return
    BookingLock.objects.bulk_create([BookingLock(practitioner_id=p, day=d) for p, d in keys], ignore_conflicts=True)
    for practitioner_id in sorted({p for p, _ in keys}):
        days = [d for p, d in keys if p == practitioner_id]
        list(BookingLock.objects.select_for_update().filter(practitioner_id=practitioner_id, day__in=days)
             .order_by("day").values_list("id", flat=True))


def directory_name(resource_type: str, logical_id: str | None) -> str:
    """"Dr Ruiz", "Riverside main clinic": what people call a practitioner or a location."""
    if not logical_id:
        return ""
    content = occupancy.current_contents(resource_type, [logical_id]).get(logical_id)
    if content is None:
        return logical_id
    from mederi.fhir import jsonio

    resource = jsonio.loads(content)
    if resource_type == "Location":
        return resource.get("name") or logical_id
    return records.person_name(resource, logical_id)


def _require_exists(repo: Repository, resource_type: str, logical_id: str, field: str, label: str) -> None:
    if not logical_id:
        raise BookingError.at(field, f"Choose a {label}.")
    try:
        repo.require_instance(resource_type, logical_id, "read")
    except (NotFound, Gone):
        raise BookingError.at(field, f"There is no {label} '{logical_id}' in the record.", status=404) from None


def _after_commit(appointment_ids) -> None:
    """Tell reminders about new or changed appointments once they are committed (when installed)."""
    from django.apps import apps

    if not apps.is_installed("mederi.scheduling.reminders"):
        return
    try:
        from mederi.scheduling.reminders.services import schedule_reminders
    except ImportError:
        return

    def notify(appointment_id: str) -> None:
        try:
            schedule_reminders(appointment_id)
        except Exception:  # the booking is committed; a reminder problem must not turn it into an error page
            log.exception("scheduling reminders for Appointment/%s failed", appointment_id)

    for appointment_id in appointment_ids:
        transaction.on_commit(lambda appointment_id=appointment_id: notify(appointment_id))


def _projected(outcome):
    """The stored Appointment of a write, its BusyTime rows brought up to date in the same transaction."""
    projection.project(outcome.stored.as_dict())
    return outcome.stored


def _read(repo: Repository, appointment_id: str) -> tuple[dict, records.AppointmentView]:
    try:
        stored = repo.read("Appointment", appointment_id)
    except (NotFound, Gone):
        raise BookingError.at(None, f"There is no appointment '{appointment_id}'.", status=404) from None
    resource = stored.as_dict()
    return resource, records.view_of(resource, pk=stored.pk)


def _when(start: datetime) -> str:
    return f"{practice_time.clock_text(start)} on {practice_time.day_text(practice_time.local_day(start))}"


# -- the rules of a booking ------------------------------------------------------------------------


def _check_bookable(practitioner_id: str, location_id: str, start: datetime, end: datetime, *,
                    overbook: bool = False, exclude_ids=()) -> None:
    """Raise unless [start, end) lies in the provider's open time and is free (or may be overbooked)."""
    days = _days_touched(start, end)
    templates = availability.Templates([practitioner_id], location_id, days[0], days[-1])
    open_intervals = [i for day in days for i in templates.open_intervals(practitioner_id, location_id, day)]
    wanted = Interval(start, end)
    if availability.subtract([wanted], open_intervals):
        who = directory_name("Practitioner", practitioner_id)
        where = directory_name("Location", location_id)
        raise BookingError.at("start", f"{who} is not working at {where} at {_when(start)} "
                                       f"(until {practice_time.clock_text(end)}). Choose a time within their hours.")
    busy = occupancy.busy_by_practitioner(start, end, [practitioner_id], exclude_ids=exclude_ids).get(practitioner_id, [])
    taken = [Interval(b.start, b.end) for b in busy if Interval(b.start, b.end).overlaps(wanted)]
    if not taken:
        return
    who = directory_name("Practitioner", practitioner_id)
    if not overbook:
        raise SlotTaken.at("start", f"That time was just booked by someone else: {practice_time.clock_text(start)} "
                                    f"with {who}. Choose another time.")
    rule = OverbookRule.objects.filter(practitioner_id=practitioner_id).first()
    limit = rule.max_overlapping if rule else 1
    already = availability.most_overlapping(taken, wanted)
    if already + 1 > limit:
        raise SlotTaken.at("overbook", f"{who} takes at most {limit} overlapping appointment{'s' if limit > 1 else ''}"
                                       f" and {practice_time.clock_text(start)} already has {already}. "
                                       "Choose another time.")


def _check_not_past(start: datetime, allow_past: bool) -> None:
    if not allow_past and start < clock.now() - timedelta(minutes=5):
        raise BookingError.at("start", f"{_when(start)} has already passed. Choose a time from now on.")


# -- booking ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Booking:
    patient_id: str
    practitioner_id: str
    location_id: str
    start: datetime
    end: datetime
    kind: AppointmentType


def _prepare_booking(repo: Repository, patient_id, practitioner_id, location_id, start, type_code) -> _Booking:
    kind = availability.appointment_type(type_code)
    start = _aware(start)
    _require_exists(repo, "Patient", patient_id, "patient_id", "patient")
    _require_exists(repo, "Practitioner", practitioner_id, "practitioner_id", "provider")
    _require_exists(repo, "Location", location_id, "location_id", "location")
    bookable.require_open(practitioner_id, location_id)
    return _Booking(patient_id, practitioner_id, location_id, start, start + timedelta(minutes=kind.minutes), kind)


def _room_locks(room_id: str, spans) -> list[tuple[str, date]]:
    """Lock keys of a room for the days of each (start, end): none without a room."""
    if not room_id:
        return []
    return [(bookable.lock_key(room_id), day) for start, end in spans for day in _days_touched(start, end)]


def book_appointment(context: Context, patient_id: str, practitioner_id: str, location_id: str, start: datetime,
                     type_code: str, *, overbook: bool = False, comment: str = "", allow_past: bool = False,
                     appointment_id: str | None = None, room_id: str = "") -> str:
    """Book one appointment; returns its id. Raises SlotTaken when the time (or the room) is no longer free.

    A naive `start` is the practice's local time. `overbook` lets the appointment overlap others
    up to the provider's OverbookRule (never in a room); `allow_past` is for loading history
    (demo, imports); `room_id` books one of the location's active rooms as well.
    """
    _require(context, "scheduling.write")
    repo = Repository(context)
    booking = _prepare_booking(repo, patient_id, practitioner_id, location_id, start, type_code)
    room_name = bookable.require_room(room_id, location_id) if room_id else ""
    _check_not_past(booking.start, allow_past)
    resource = records.appointment_resource(
        status="booked", patient_id=patient_id, practitioner_id=practitioner_id, location_id=location_id,
        start=booking.start, end=booking.end, type_code=booking.kind.code, type_name=booking.kind.name,
        comment=comment.strip(), created=clock.now(), room_id=room_id)
    with transaction.atomic():
        _lock([(practitioner_id, day) for day in _days_touched(booking.start, booking.end)]
              + _room_locks(room_id, [(booking.start, booking.end)]))
        _check_bookable(practitioner_id, location_id, booking.start, booking.end, overbook=overbook)
        if room_id:
            bookable.check_room_free(room_id, room_name, booking.start, booking.end)
        stored = _projected(repo.create(resource, logical_id=appointment_id))
        _after_commit([stored.logical_id])
    return stored.logical_id


def _series_starts(start: datetime, every_weeks: int, count: int | None, until: date | None) -> list[datetime]:
    """Local wall-clock repeats of `start` (10:30 stays 10:30 across a daylight-saving change)."""
    first_local = practice_time.to_local(start).replace(tzinfo=None)
    starts = []
    for n in range(MAX_SERIES + 1):
        moment = first_local + timedelta(weeks=every_weeks * n)
        if count is not None and n >= count:
            break
        if until is not None and moment.date() > until:
            break
        starts.append(practice_time.to_utc(moment))
    return starts


def book_recurring(context: Context, patient_id: str, practitioner_id: str, location_id: str, start: datetime,
                   type_code: str, *, every_weeks: int = 1, count: int | None = None, until: date | None = None,
                   overbook: bool = False, comment: str = "", allow_past: bool = False,
                   series_id: str | None = None, room_id: str = "") -> list[str]:
    """Book a weekly series (every `every_weeks` weeks, `count` times or until a date), all or none.

    Every appointment carries the series identifier (systems.APPOINTMENT_SERIES). When any date is
    taken or outside the provider's hours, nothing is booked and the message lists those dates.
    """
    _require(context, "scheduling.write")
    if not isinstance(every_weeks, int) or not 1 <= every_weeks <= 52:
        raise BookingError.at("every_weeks", "Repeat every 1 to 52 weeks.")
    if (count is None) == (until is None):
        raise BookingError.at("count", "Say how often to repeat: a number of appointments, or an end date.")
    if count is not None and not 2 <= count <= MAX_SERIES:
        raise BookingError.at("count", f"A series has 2 to {MAX_SERIES} appointments.")
    repo = Repository(context)
    booking = _prepare_booking(repo, patient_id, practitioner_id, location_id, start, type_code)
    room_name = bookable.require_room(room_id, location_id) if room_id else ""
    _check_not_past(booking.start, allow_past)
    if until is not None and until <= practice_time.local_day(booking.start):
        raise BookingError.at("until", f"The series must end after its first appointment "
                                       f"({practice_time.day_text(practice_time.local_day(booking.start))}).")
    starts = _series_starts(booking.start, every_weeks, count, until)
    if len(starts) > MAX_SERIES:
        raise BookingError.at("until", f"A series has at most {MAX_SERIES} appointments; choose an earlier end date.")
    length = booking.end - booking.start
    series_id = series_id or str(uuid.uuid4())
    with transaction.atomic():
        _lock([(practitioner_id, day) for s in starts for day in _days_touched(s, s + length)]
              + _room_locks(room_id, [(s, s + length) for s in starts]))
        problems = []
        for moment in starts:
            try:
                _check_bookable(practitioner_id, location_id, moment, moment + length, overbook=overbook)
                if room_id:
                    bookable.check_room_free(room_id, room_name, moment, moment + length)
            except BookingError as error:
                reason = ("room taken" if error.issues[0].expression == "room_id" else "taken"
                          ) if isinstance(error, SlotTaken) else "outside working hours"
                problems.append(f"{practice_time.day_text(practice_time.local_day(moment))} ({reason})")
        if problems:
            raise SlotTaken.at("start", f"{len(problems)} of the {len(starts)} dates cannot be booked at "
                                        f"{practice_time.clock_text(booking.start)}: {', '.join(problems)}. "
                                        "Nothing was booked; choose another time or fewer repeats.")
        ids = []
        now = clock.now()
        with repo.atomic():
            for moment in starts:
                resource = records.appointment_resource(
                    status="booked", patient_id=patient_id, practitioner_id=practitioner_id, location_id=location_id,
                    start=moment, end=moment + length, type_code=booking.kind.code, type_name=booking.kind.name,
                    comment=comment.strip(), series_id=series_id, created=now, room_id=room_id)
                ids.append(_projected(repo.create(resource)).logical_id)
        _after_commit(ids)
    return ids


def _series_targets(repo: Repository, current: records.AppointmentView, scope: str,
                    statuses=("booked", "pending")) -> list[tuple[dict, records.AppointmentView]]:
    """This appointment, or it and every later one of its series still in `statuses`."""
    if scope not in SCOPES:
        raise BookingError.at("scope", "Choose this appointment only, or this and all later ones of the series.")
    if scope == "one" or not current.series_id:
        return []
    found = repo.search("Appointment", [("identifier", f"{systems.APPOINTMENT_SERIES}|{current.series_id}"),
                                        ("_count", "500")])
    later = []
    for stored in found.matches:
        resource = stored.as_dict()
        view = records.view_of(resource, pk=stored.pk)
        if view.id != current.id and view.start and current.start and view.start > current.start \
                and view.status in statuses:
            later.append((resource, view))
    later.sort(key=lambda pair: pair[1].start)
    return later


def _shifted(moment: datetime, old_first: datetime, new_first: datetime) -> datetime:
    """`moment` moved as `old_first` moved to `new_first`, in local wall-clock terms."""
    delta = (practice_time.to_local(new_first).replace(tzinfo=None)
             - practice_time.to_local(old_first).replace(tzinfo=None))
    return practice_time.to_utc(practice_time.to_local(moment).replace(tzinfo=None) + delta)


def reschedule_appointment(context: Context, appointment_id: str, new_start: datetime, *,
                           practitioner_id: str | None = None, location_id: str | None = None, scope: str = "one",
                           overbook: bool = False, room_id: str | None = None) -> list[str]:
    """Move an appointment (scope "one"), or it and every later one of its series ("future") by the
    same change of day and time, to `new_start` and optionally another provider, location or room
    (`room_id` None keeps the appointment's room, "" gives it none)."""
    _require(context, "scheduling.write")
    repo = Repository(context)
    new_start = _aware(new_start)
    resource, current = _read(repo, appointment_id)
    if current.status not in ("booked", "pending") or current.start is None or current.end is None:
        raise BookingError.at(None, f"This appointment is {records.STATUS_LABELS.get(current.status, current.status)}"
                                    "; only booked appointments can be moved.")
    _check_not_past(new_start, False)
    practitioner_id = practitioner_id or current.practitioner_id
    location_id = location_id or current.location_id
    if practitioner_id != current.practitioner_id:
        _require_exists(repo, "Practitioner", practitioner_id, "practitioner_id", "provider")
    if location_id != current.location_id:
        _require_exists(repo, "Location", location_id, "location_id", "location")
    if (practitioner_id, location_id) != (current.practitioner_id, current.location_id):
        bookable.require_open(practitioner_id, location_id)
    room_id = (current.room_id or "") if room_id is None else room_id
    room_name = bookable.require_room(room_id, location_id) if room_id else ""
    targets = [(resource, current)] + _series_targets(repo, current, scope)
    moves = []
    for target_resource, view in targets:
        begins = _shifted(view.start, current.start, new_start)
        moves.append((target_resource, view, begins, begins + (view.end - view.start)))
    keys = {(practitioner_id, day) for _, _, s, e in moves for day in _days_touched(s, e)}
    keys.update(_room_locks(room_id, [(s, e) for _, _, s, e in moves]))
    moved_ids = [view.id for _, view, _, _ in moves]
    with transaction.atomic():
        _lock(keys)
        for _, view, begins, ends in moves:
            _check_bookable(practitioner_id, location_id, begins, ends, overbook=overbook, exclude_ids=moved_ids)
            if room_id:
                bookable.check_room_free(room_id, room_name, begins, ends, exclude_ids=moved_ids)
        with repo.atomic():
            for target_resource, view, begins, ends in moves:
                changed = records.with_participants(records.with_times(target_resource, begins, ends),
                                                    practitioner_id=practitioner_id, location_id=location_id,
                                                    room_id=room_id)
                _projected(repo.update("Appointment", view.id, changed, if_match=view.version))
        for _, view, _, _ in moves:
            _offer_freed_slot(repo, view)
        _after_commit(moved_ids)
    return moved_ids


def cancel_appointment(context: Context, appointment_id: str, reason_code: str, reason_text: str = "", *,
                       scope: str = "one") -> list[str]:
    """Cancel with a reason (a code of appointment-cancellation-reason, and words); the freed time
    is offered to the first matching patient on the waitlist."""
    _require(context, "scheduling.write")
    reason_code = (reason_code or "").strip()
    reason_text = (reason_text or "").strip()
    if reason_code not in records.CANCEL_REASON_NAMES:
        raise BookingError.at("reason_code", "Choose the reason for the cancellation.")
    if reason_code == "other" and not reason_text:
        raise BookingError.at("reason_text", "Say in a few words why the appointment is cancelled.")
    repo = Repository(context)
    resource, current = _read(repo, appointment_id)
    cancellable = ("proposed", "pending", "booked", "arrived", "waitlist")
    if current.status not in cancellable:
        raise BookingError.at(None, f"This appointment is {records.STATUS_LABELS.get(current.status, current.status)}"
                                    " and can no longer be cancelled.")
    targets = [(resource, current)] + _series_targets(repo, current, scope)
    reason = {"coding": [{"system": systems.CANCEL_REASON, "code": reason_code,
                          "display": records.CANCEL_REASON_NAMES[reason_code]}],
              "text": reason_text or records.CANCEL_REASON_NAMES[reason_code]}
    with transaction.atomic():
        with repo.atomic():
            for target_resource, view in targets:
                changed = records.with_stage({**target_resource, "status": "cancelled", "cancelationReason": reason},
                                             None)
                _projected(repo.update("Appointment", view.id, changed, if_match=view.version))
        WaitlistEntry.objects.filter(status=WaitlistEntry.OFFERED,
                                     offered_appointment_id__in=[v.id for _, v in targets]).update(
            status=WaitlistEntry.WAITING, offered_appointment_id="", offered_at=None)
        for _, view in targets:
            if view.occupies:
                _offer_freed_slot(repo, view)
        _after_commit([v.id for _, v in targets])
    return [v.id for _, v in targets]


# -- the front-desk stages --------------------------------------------------------------------------

# action -> (statuses it may follow, the FHIR status it sets, the stage it records)
STAGE_ACTIONS = {
    "arrive": (("booked", "pending"), "arrived", "arrived"),
    "check-in": (("booked", "pending", "arrived"), "checked-in", "checked-in"),
    "room": (("checked-in",), "checked-in", "in-room"),
    "check-out": (("checked-in",), "fulfilled", "checked-out"),
    "no-show": (("booked", "pending"), "noshow", None),
}
ACTION_LABELS = {"arrive": "Arrived", "check-in": "Check in", "room": "In room", "check-out": "Check out",
                 "no-show": "No-show"}


def change_stage(context: Context, appointment_id: str, action: str) -> records.AppointmentView:
    """arrive, check-in, room, check-out or no-show: the FHIR status and the stage extension."""
    _require(context, "scheduling.write")
    if action not in STAGE_ACTIONS:
        raise BookingError.at("action", f"'{action}' is not a step of a visit; use one of {', '.join(STAGE_ACTIONS)}.")
    allowed, status, stage = STAGE_ACTIONS[action]
    repo = Repository(context)
    resource, current = _read(repo, appointment_id)
    if current.status not in allowed or (action == "room" and current.stage == "in-room"):
        raise BookingError.at("action", f"This appointment is {current.state_label.lower()}: "
                                        f"'{ACTION_LABELS[action]}' does not apply now.", status=409)
    changed = records.with_stage({**resource, "status": status}, stage)
    with transaction.atomic():
        stored = _projected(repo.update("Appointment", appointment_id, changed, if_match=current.version))
    return records.view_of(stored.as_dict(), pk=stored.pk)


def mark_arrived(context: Context, appointment_id: str) -> records.AppointmentView:
    return change_stage(context, appointment_id, "arrive")


def check_in(context: Context, appointment_id: str) -> records.AppointmentView:
    return change_stage(context, appointment_id, "check-in")


def mark_in_room(context: Context, appointment_id: str) -> records.AppointmentView:
    return change_stage(context, appointment_id, "room")


def check_out(context: Context, appointment_id: str) -> records.AppointmentView:
    return change_stage(context, appointment_id, "check-out")


def mark_no_show(context: Context, appointment_id: str) -> records.AppointmentView:
    return change_stage(context, appointment_id, "no-show")


# -- the waitlist -----------------------------------------------------------------------------------


def add_to_waitlist(context: Context, patient_id: str, type_code: str, *, earliest: date, latest: date,
                    practitioner_id: str = "", location_id: str = "", time_of_day: str = "", weekdays=(),
                    note: str = "") -> WaitlistEntry:
    _require(context, "scheduling.write")
    repo = Repository(context)
    availability.appointment_type(type_code)
    _require_exists(repo, "Patient", patient_id, "patient_id", "patient")
    if practitioner_id:
        _require_exists(repo, "Practitioner", practitioner_id, "practitioner_id", "provider")
    if location_id:
        _require_exists(repo, "Location", location_id, "location_id", "location")
    if not isinstance(earliest, date) or not isinstance(latest, date):
        raise BookingError.at("earliest", "Give the first and last dates the patient could come.")
    if latest < earliest:
        raise BookingError.at("latest", f"The last date ({practice_time.day_text(latest)}) is before the first "
                                        f"({practice_time.day_text(earliest)}).")
    if time_of_day not in ("", "morning", "afternoon"):
        raise BookingError.at("time_of_day", "Choose any time, mornings or afternoons.")
    days = sorted({int(d) for d in weekdays})
    if any(d < 0 or d > 6 for d in days):
        raise BookingError.at("weekdays", "Weekdays run from Monday (0) to Sunday (6).")
    return WaitlistEntry.objects.create(
        patient_id=patient_id, type_code=type_code, practitioner_id=practitioner_id or "",
        location_id=location_id or "", earliest=earliest, latest=latest, time_of_day=time_of_day,
        weekdays=",".join(str(d) for d in days), note=note.strip()[:300], created=clock.now(),
        created_by=context.user_name or "")


def _matches(entry: WaitlistEntry, freed: records.AppointmentView, minutes: int) -> bool:
    local_start = practice_time.to_local(freed.start)
    if entry.patient_id == freed.patient_id:
        return False
    if entry.practitioner_id and entry.practitioner_id != freed.practitioner_id:
        return False
    if entry.location_id and entry.location_id != freed.location_id:
        return False
    if not entry.earliest <= local_start.date() <= entry.latest:
        return False
    if entry.weekday_set() and local_start.weekday() not in entry.weekday_set():
        return False
    if entry.time_of_day == "morning" and local_start.time() >= time(12):
        return False
    if entry.time_of_day == "afternoon" and local_start.time() < time(12):
        return False
    return freed.start + timedelta(minutes=minutes) <= freed.end


def _offer_freed_slot(repo: Repository, freed: records.AppointmentView, skip_entry_ids=()) -> WaitlistEntry | None:
    """Offer the time of `freed` to the first waiting patient it suits: a proposed Appointment
    they (or the front desk on their behalf) can accept. Runs inside the caller's transaction."""
    if freed.start is None or freed.end is None or not freed.practitioner_id or not freed.location_id:
        return None
    if freed.start < clock.now():
        return None
    day = practice_time.local_day(freed.start)
    waiting = (WaitlistEntry.objects.select_for_update().filter(status=WaitlistEntry.WAITING, earliest__lte=day,
                                                                latest__gte=day)
               .exclude(id__in=list(skip_entry_ids)).order_by("created", "id"))
    kinds = {t.code: t for t in AppointmentType.objects.filter(active=True)}
    busy = occupancy.busy_by_practitioner(freed.start, freed.end, [freed.practitioner_id]).get(freed.practitioner_id, [])
    for entry in waiting:
        kind = kinds.get(entry.type_code)
        if kind is None or not _matches(entry, freed, kind.minutes):
            continue
        wanted = Interval(freed.start, freed.start + timedelta(minutes=kind.minutes))
        if any(Interval(b.start, b.end).overlaps(wanted) for b in busy):
            return None  # the time is not free after all (it was overbooked)
        resource = records.appointment_resource(
            status="proposed", patient_id=entry.patient_id, practitioner_id=freed.practitioner_id,
            location_id=freed.location_id, start=wanted.start, end=wanted.end, type_code=kind.code,
            type_name=kind.name, comment="Offered from the waitlist", created=clock.now(),
            patient_status="needs-action")
        offered = _projected(repo.create(resource))
        entry.status = WaitlistEntry.OFFERED
        entry.offered_appointment_id = offered.logical_id
        entry.offered_at = clock.now()
        entry.save(update_fields=["status", "offered_appointment_id", "offered_at"])
        return entry
    return None


def _offered_entry(entry_id) -> WaitlistEntry:
    entry = WaitlistEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise BookingError.at(None, f"There is no waitlist entry {entry_id}.", status=404)
    if entry.status != WaitlistEntry.OFFERED or not entry.offered_appointment_id:
        raise BookingError.at(None, "This waitlist entry has no open offer.", status=409)
    return entry


def accept_offer(context: Context, entry_id: int) -> str:
    """The patient takes the offered time: the proposed Appointment becomes booked."""
    _require(context, "scheduling.write")
    repo = Repository(context)
    entry = _offered_entry(entry_id)
    resource, offer = _read(repo, entry.offered_appointment_id)
    try:
        with transaction.atomic():
            _lock((offer.practitioner_id, day) for day in _days_touched(offer.start, offer.end))
            _check_bookable(offer.practitioner_id, offer.location_id, offer.start, offer.end, exclude_ids=[offer.id])
            changed = records.with_participants({**resource, "status": "booked"}, patient_status="accepted")
            changed["comment"] = "Booked from the waitlist"
            _projected(repo.update("Appointment", offer.id, changed, if_match=offer.version))
            entry.status = WaitlistEntry.BOOKED
            entry.booked_appointment_id = offer.id
            entry.save(update_fields=["status", "booked_appointment_id"])
            _after_commit([offer.id])
    except SlotTaken:
        _withdraw_offer(repo, entry, "The offered time was booked by someone else meanwhile")
        raise SlotTaken.at(None, "That time was just booked by someone else: "
                                 f"{practice_time.clock_text(offer.start)} with "
                                 f"{directory_name('Practitioner', offer.practitioner_id)}. "
                                 "The patient is back on the waitlist.") from None
    return offer.id


def _withdraw_offer(repo: Repository, entry: WaitlistEntry, why: str) -> None:
    with transaction.atomic():
        resource, offer = _read(repo, entry.offered_appointment_id)
        if offer.status == "proposed":
            reason = {"coding": [{"system": systems.CANCEL_REASON, "code": "pat", "display": "Patient"}], "text": why}
            _projected(repo.update("Appointment", offer.id,
                                   {**resource, "status": "cancelled", "cancelationReason": reason},
                                   if_match=offer.version))
        entry.status = WaitlistEntry.WAITING
        entry.offered_appointment_id = ""
        entry.offered_at = None
        entry.save(update_fields=["status", "offered_appointment_id", "offered_at"])


def decline_offer(context: Context, entry_id: int) -> WaitlistEntry | None:
    """The patient does not want the offered time: they keep their place on the waitlist and the
    time goes to the next matching patient. Returns the entry that got the new offer, if any."""
    _require(context, "scheduling.write")
    repo = Repository(context)
    entry = _offered_entry(entry_id)
    _, offer = _read(repo, entry.offered_appointment_id)
    with transaction.atomic():
        _withdraw_offer(repo, entry, "Declined the waitlist offer")
        return _offer_freed_slot(repo, offer, skip_entry_ids=[entry.id])


def remove_from_waitlist(context: Context, entry_id: int) -> None:
    _require(context, "scheduling.write")
    entry = WaitlistEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise BookingError.at(None, f"There is no waitlist entry {entry_id}.", status=404)
    if entry.status == WaitlistEntry.OFFERED:
        _withdraw_offer(Repository(context), entry, "Removed from the waitlist")
    WaitlistEntry.objects.filter(pk=entry_id).update(status=WaitlistEntry.REMOVED)


# -- Schedules and availability templates -------------------------------------------------------------


def ensure_schedule(practitioner_id: str, location_id: str, *, context: Context | None = None) -> str:
    """The FHIR Schedule of a provider at a location (created when missing); returns its id."""
    context = context or Context.system("scheduling")
    repo = Repository(context)
    schedule_id = records.schedule_id(practitioner_id, location_id)
    try:
        repo.read("Schedule", schedule_id)
        return schedule_id
    except (NotFound, Gone):
        pass
    today = practice_time.today()
    resource = records.schedule_resource(
        practitioner_id, location_id, horizon_start=today.isoformat(),
        horizon_end=(today + timedelta(days=PLANNING_HORIZON_DAYS)).isoformat(),
        comment="Hours are kept in the practice's availability templates")
    repo.update("Schedule", schedule_id, {**resource, "id": schedule_id})
    return schedule_id


def _check_directory(context: Context, practitioner_id: str, location_id: str | None) -> None:
    repo = Repository(context)
    _require_exists(repo, "Practitioner", practitioner_id, "practitioner_id", "provider")
    if location_id:
        _require_exists(repo, "Location", location_id, "location_id", "location")


def _check_clock_range(start, end) -> None:
    if not isinstance(start, time):
        raise BookingError.at("start", "Give the start as a time of day, like 08:00.")
    if not isinstance(end, time):
        raise BookingError.at("end", "Give the end as a time of day, like 12:00.")
    if end <= start:
        raise BookingError.at("end", f"The end ({end:%H:%M}) must be after the start ({start:%H:%M}).")


def _check_validity(valid_from, valid_to) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise BookingError.at("valid_to", f"'Valid until' ({practice_time.day_text(valid_to)}) is before "
                                          f"'valid from' ({practice_time.day_text(valid_from)}).")


def _validity_overlaps(a_from, a_to, b_from, b_to) -> bool:
    return (a_from or date.min) <= (b_to or date.max) and (b_from or date.min) <= (a_to or date.max)


def add_weekly_hours(context: Context, practitioner_id: str, location_id: str, weekday: int, start: time, end: time,
                     *, valid_from: date | None = None, valid_to: date | None = None) -> WeeklyHours:
    _require(context, "scheduling.write")
    if weekday not in range(7):
        raise BookingError.at("weekday", "Choose a weekday.")
    _check_clock_range(start, end)
    _check_validity(valid_from, valid_to)
    _check_directory(context, practitioner_id, location_id)
    for other in WeeklyHours.objects.filter(practitioner_id=practitioner_id, weekday=weekday):
        if other.start < end and start < other.end and _validity_overlaps(valid_from, valid_to, other.valid_from,
                                                                          other.valid_to):
            where = directory_name("Location", other.location_id)
            raise BookingError.at("start", f"These hours overlap {other.get_weekday_display()} "
                                           f"{other.start:%H:%M}–{other.end:%H:%M} at {where}.")
    with transaction.atomic():
        row = WeeklyHours.objects.create(practitioner_id=practitioner_id, location_id=location_id, weekday=weekday,
                                         start=start, end=end, valid_from=valid_from, valid_to=valid_to)
        ensure_schedule(practitioner_id, location_id, context=context)
    return row


def add_break(context: Context, practitioner_id: str, location_id: str, weekday: int, start: time, end: time, *,
              label: str = "Break", valid_from: date | None = None, valid_to: date | None = None) -> Break:
    _require(context, "scheduling.write")
    if weekday not in range(7):
        raise BookingError.at("weekday", "Choose a weekday.")
    _check_clock_range(start, end)
    _check_validity(valid_from, valid_to)
    _check_directory(context, practitioner_id, location_id)
    return Break.objects.create(practitioner_id=practitioner_id, location_id=location_id, weekday=weekday,
                                start=start, end=end, label=(label or "Break").strip()[:60],
                                valid_from=valid_from, valid_to=valid_to)


def add_exception(context: Context, practitioner_id: str, start: datetime, end: datetime, kind: str, *,
                  location_id: str = "", reason: str = "") -> ScheduleException:
    """Closed (away: no bookings) or extra hours, from `start` to `end` (naive: local time)."""
    _require(context, "scheduling.write")
    if kind not in dict(ScheduleException.KINDS):
        raise BookingError.at("kind", "Choose closed or extra hours.")
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        raise BookingError.at("end", f"The end ({_when(end)}) must be after the start ({_when(start)}).")
    if kind == ScheduleException.EXTRA_HOURS and not location_id:
        raise BookingError.at("location_id", "Extra hours need the location where they are worked.")
    _check_directory(context, practitioner_id, location_id or None)
    with transaction.atomic():
        row = ScheduleException.objects.create(practitioner_id=practitioner_id, location_id=location_id or "",
                                               start=start, end=end, kind=kind, reason=reason.strip()[:200])
        if location_id:
            ensure_schedule(practitioner_id, location_id, context=context)
    return row


def add_holiday(context: Context, day: date, name: str, *, location_id: str = "") -> Holiday:
    _require(context, "scheduling.write")
    if not isinstance(day, date):
        raise BookingError.at("date", "Give the date of the holiday.")
    if not (name or "").strip():
        raise BookingError.at("name", "Give the holiday a name.")
    if location_id:
        _require_exists(Repository(context), "Location", location_id, "location_id", "location")
    if Holiday.objects.filter(date=day, location_id=location_id or "").exists():
        raise BookingError.at("date", f"{practice_time.day_text(day)} is already a holiday there.")
    return Holiday.objects.create(date=day, name=name.strip()[:100], location_id=location_id or "")


TEMPLATE_MODELS = {"hours": WeeklyHours, "break": Break, "exception": ScheduleException, "holiday": Holiday}


def remove_template(context: Context, kind: str, row_id: int) -> None:
    _require(context, "scheduling.write")
    model = TEMPLATE_MODELS.get(kind)
    if model is None:
        raise BookingError.at(None, f"'{kind}' is not a kind of availability entry.")
    deleted, _ = model.objects.filter(pk=row_id).delete()
    if not deleted:
        raise BookingError.at(None, "That entry no longer exists.", status=404)


def save_appointment_type(context: Context, code: str, name: str, minutes: int, colour: str = "blue", *,
                          active: bool = True) -> AppointmentType:
    """Create or change an appointment type (by its code)."""
    _require(context, "scheduling.write")
    code = (code or "").strip().lower()
    if not code or not all(c.isalnum() or c in "-_" for c in code) or len(code) > 32:
        raise BookingError.at("code", "A code is 1 to 32 letters, digits, '-' or '_' (like follow-up).")
    if not (name or "").strip():
        raise BookingError.at("name", "Give the type a name.")
    if not isinstance(minutes, int) or not 5 <= minutes <= 480:
        raise BookingError.at("minutes", "An appointment lasts 5 to 480 minutes.")
    if colour not in dict(PALETTE):
        raise BookingError.at("colour", f"Choose one of the colours: {', '.join(dict(PALETTE))}.")
    row, _ = AppointmentType.objects.update_or_create(
        code=code, defaults={"name": name.strip()[:100], "minutes": minutes, "colour": colour, "active": active})
    return row


def set_overbook_limit(context: Context, practitioner_id: str, max_overlapping: int) -> OverbookRule:
    _require(context, "scheduling.write")
    if not isinstance(max_overlapping, int) or not 1 <= max_overlapping <= 10:
        raise BookingError.at("max_overlapping", "Allow 1 (no overbooking) to 10 overlapping appointments.")
    _check_directory(context, practitioner_id, None)
    row, _ = OverbookRule.objects.update_or_create(practitioner_id=practitioner_id,
                                                   defaults={"max_overlapping": max_overlapping})
    return row
