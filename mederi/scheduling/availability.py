"""When providers are free: templates minus breaks, exceptions, holidays and bookings.

A provider's open time on a day at a location is

    ((weekly hours - breaks - a holiday) + extra-hours exceptions) - closed exceptions

in the practice's local time, turned into UTC instants. Free start times for an appointment
type are the moments in open time, outside every occupying appointment of that provider (at
any location: nobody is in two places at once), where the whole appointment fits: the first
moment after each booking, every quarter hour on the clock, and the latest moment that still
fits before the next booking or the end of the hours. The pure functions at the top
(`merge`, `subtract`, `open_time`, `free_starts`) hold the rules and are what the property
tests exercise; `Templates` loads the tables once for many days, and `next_available` walks
forward through days, a few at a time, finding candidate days with the BusyTime copy of the
bookings (projection.py) and checking each such day against the record's own index, stopping as
soon as it has enough slots.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from mederi.core import clock
from mederi.core.context import Context
from mederi.scheduling import occupancy, practice_time, projection
from mederi.scheduling.errors import BookingError, NotPermitted
from mederi.scheduling.models import AppointmentType, Break, Holiday, ScheduleException, WeeklyHours

STEP_MINUTES = 15  # free start times fall on the quarter hours (and right after each booking)
NOON = time(12, 0)
TIMES_OF_DAY = ("morning", "afternoon")


class Interval(NamedTuple):
    """[start, end): a stretch of time (a tuple, so sorting and making thousands of them is cheap)."""

    start: datetime
    end: datetime

    def overlaps(self, other: "Interval") -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Slot:
    """A time an appointment of some type can be booked: who, where, when (UTC)."""

    practitioner_id: str
    location_id: str
    start: datetime
    end: datetime

    @property
    def local_start(self) -> datetime:
        return practice_time.to_local(self.start)

    @property
    def local_end(self) -> datetime:
        return practice_time.to_local(self.end)


# -- the rules, as pure functions -------------------------------------------------------------


def merge(intervals) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined; empty ones dropped."""
    merged: list[Interval] = []
    for interval in sorted(i for i in intervals if i.end > i.start):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def subtract(intervals, removals) -> list[Interval]:
    """What is left of `intervals` once every part covered by `removals` is taken out."""
    left = merge(intervals)
    taken = merge(removals)
    if not taken:
        return left
    kept: list[Interval] = []
    index = 0  # both lists are sorted and apart: one pass over each
    for start, end in left:
        while index < len(taken) and taken[index].end <= start:
            index += 1
        cursor, probe = start, index
        while probe < len(taken) and taken[probe].start < end:
            if taken[probe].start > cursor:
                kept.append(Interval(cursor, taken[probe].start))
            cursor = max(cursor, taken[probe].end)
            probe += 1
        if cursor < end:
            kept.append(Interval(cursor, end))
    return kept


def _local_interval(day: date, start: time, end: time) -> Interval:
    return Interval(practice_time.to_utc(practice_time.local(day, start)),
                    practice_time.to_utc(practice_time.local(day, end)))


def open_time(day: date, hours, breaks=(), closed=(), extra=(), holiday: bool = False) -> list[Interval]:
    """Open time of one provider at one location on `day`.

    `hours` and `breaks` are (start, end) local clock times of that weekday; `closed` and `extra`
    are Intervals (UTC). A holiday closes the weekly hours but not extra hours given explicitly.
    """
    bounds = Interval(*practice_time.day_bounds(day))
    weekly = [] if holiday else [_local_interval(day, s, e) for s, e in hours if e > s]
    weekly = subtract(weekly, [_local_interval(day, s, e) for s, e in breaks if e > s])
    added = [Interval(max(i.start, bounds.start), min(i.end, bounds.end)) for i in extra if i.overlaps(bounds)]
    return subtract(merge(weekly + added), closed)


def free_start_seconds(open_intervals, busy, length: int, step: int, not_before: int | None = None) -> list[int]:
    """`free_starts` in whole seconds since 1970 (UTC): what a long search runs thousands of times."""
    starts: list[int] = []
    for start, end in subtract(open_intervals, busy):
        candidate = start
        if not_before is not None and candidate < not_before:
            candidate = not_before if not_before % step == 0 else (not_before // step + 1) * step
        fitting = []
        while candidate + length <= end:
            fitting.append(candidate)
            candidate = (candidate // step + 1) * step  # the next multiple of the step on the clock
        last = end - length  # the latest fitting start too, so no gap is left before what follows
        if fitting and fitting[-1] < last:
            fitting.append(last)
        starts += fitting
    return starts


def _second(moment: datetime) -> int:
    return math.ceil(moment.timestamp())


def _instant(second: int) -> datetime:
    return datetime.fromtimestamp(second, timezone.utc)


def free_starts(open_intervals, busy, minutes: int, *, step_minutes: int = STEP_MINUTES,
                not_before: datetime | None = None) -> list[datetime]:
    """Start times where `minutes` fit inside open time without touching a busy interval."""
    step = 60 * max(1, min(step_minutes, minutes))
    found = free_start_seconds([Interval(_second(i.start), _second(i.end)) for i in open_intervals],
                               [Interval(_second(b.start), _second(b.end)) for b in busy], 60 * minutes, step,
                               _second(not_before) if not_before is not None else None)
    return [_instant(second) for second in found]


def most_overlapping(existing, interval: Interval) -> int:
    """The largest number of `existing` intervals overlapping any one moment of `interval`."""
    events = []
    for other in existing:
        if other.overlaps(interval):
            events.append((max(other.start, interval.start), 1))
            events.append((min(other.end, interval.end), -1))
    events.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same moment
    running = highest = 0
    for _, change in events:
        running += change
        highest = max(highest, running)
    return highest


# -- the tables ---------------------------------------------------------------------------------


def _require_read(context: Context) -> None:
    if not context.is_system and "scheduling.read" not in context.permissions:
        raise NotPermitted("your roles do not allow you to see the schedule (it needs scheduling.read)")


def appointment_type(code: str) -> AppointmentType:
    found = AppointmentType.objects.filter(code=code).first() if code else None
    if found is None or not found.active:
        names = ", ".join(f"{t.code} ({t.name})" for t in AppointmentType.objects.filter(active=True)) or "none yet"
        raise BookingError.at("type_code", f"There is no appointment type '{code}'. Choose one of: {names}.")
    return found


class Templates:
    """The availability tables for a set of providers over a stretch of days, loaded once."""

    def __init__(self, practitioner_ids=None, location_id: str | None = None, first: date | None = None,
                 last: date | None = None):
        hours = WeeklyHours.objects.all()
        if practitioner_ids is not None:
            hours = hours.filter(practitioner_id__in=list(practitioner_ids))
        if location_id:
            hours = hours.filter(location_id=location_id)
        self.hours: dict[tuple[str, str], list[WeeklyHours]] = defaultdict(list)
        for row in hours:
            self.hours[(row.practitioner_id, row.location_id)].append(row)
        bounds_start = practice_time.day_bounds(first)[0] if first else None
        bounds_end = practice_time.day_bounds(last)[1] if last else None
        exceptions = ScheduleException.objects.all()
        if practitioner_ids is not None:
            exceptions = exceptions.filter(practitioner_id__in=list(practitioner_ids))
        if bounds_start is not None:
            exceptions = exceptions.filter(end__gt=bounds_start)
        if bounds_end is not None:
            exceptions = exceptions.filter(start__lt=bounds_end)
        self.exceptions: dict[str, list[ScheduleException]] = defaultdict(list)
        for row in exceptions:
            self.exceptions[row.practitioner_id].append(row)
            if row.kind == ScheduleException.EXTRA_HOURS and (not location_id or row.location_id == location_id):
                self.hours.setdefault((row.practitioner_id, row.location_id), [])
        practitioners = {p for p, _ in self.hours}
        self.breaks: dict[tuple[str, str], list[Break]] = defaultdict(list)
        for row in Break.objects.filter(practitioner_id__in=sorted(practitioners)):
            self.breaks[(row.practitioner_id, row.location_id)].append(row)
        holidays = Holiday.objects.all()
        if first:
            holidays = holidays.filter(date__gte=first)
        if last:
            holidays = holidays.filter(date__lte=last)
        self.holidays: dict[date, set[str]] = defaultdict(set)
        for row in holidays:
            self.holidays[row.date].add(row.location_id)
        self._open: dict[tuple[str, str, date], list[Interval]] = {}
        self._open_seconds: dict[tuple[str, str, date], list[Interval]] = {}

    def pairs(self) -> list[tuple[str, str]]:
        """(practitioner, location) pairs that have any hours."""
        return sorted(self.hours)

    def practitioner_ids(self) -> list[str]:
        return sorted({p for p, _ in self.hours})

    def is_holiday(self, day: date, location_id: str) -> bool:
        places = self.holidays.get(day)
        return bool(places) and ("" in places or location_id in places)

    def holiday_names(self, day: date, location_id: str) -> list[str]:
        return list(Holiday.objects.filter(date=day, location_id__in=["", location_id]).values_list("name", flat=True))

    def open_intervals(self, practitioner_id: str, location_id: str, day: date) -> list[Interval]:
        cached = self._open.get((practitioner_id, location_id, day))
        if cached is None:
            cached = self._open[(practitioner_id, location_id, day)] = self._work_out(practitioner_id, location_id, day)
        return cached

    def open_seconds(self, practitioner_id: str, location_id: str, day: date) -> list[Interval]:
        """`open_intervals` in seconds since 1970."""
        key = (practitioner_id, location_id, day)
        cached = self._open_seconds.get(key)
        if cached is None:
            cached = self._open_seconds[key] = [Interval(_second(i.start), _second(i.end))
                                                for i in self.open_intervals(practitioner_id, location_id, day)]
        return cached

    def _work_out(self, practitioner_id: str, location_id: str, day: date) -> list[Interval]:
        key = (practitioner_id, location_id)
        hours = [(h.start, h.end) for h in self.hours.get(key, ()) if h.applies_on(day)]
        breaks = [(b.start, b.end) for b in self.breaks.get(key, ()) if b.applies_on(day)]
        closed, extra = [], []
        for row in self.exceptions.get(practitioner_id, ()):
            if row.kind == ScheduleException.CLOSED and row.location_id in ("", location_id):
                closed.append(Interval(row.start, row.end))
            elif row.kind == ScheduleException.EXTRA_HOURS and row.location_id == location_id:
                extra.append(Interval(row.start, row.end))
        if not hours and not extra:
            return []
        return open_time(day, hours, breaks, closed, extra, self.is_holiday(day, location_id))


class BusyIndex:
    """Busy intervals per practitioner in seconds since 1970, sorted, for slicing by day."""

    def __init__(self):
        self._starts: dict[str, list[int]] = {}
        self._intervals: dict[str, list[Interval]] = {}

    @classmethod
    def of_seconds(cls, rows: dict[str, list[tuple[int, int]]]) -> "BusyIndex":
        """From {practitioner: [(start, end), ...]} in seconds, each list sorted by start."""
        index = cls()
        for practitioner_id, items in rows.items():
            index._intervals[practitioner_id] = [Interval(a, b) for a, b in items]
            index._starts[practitioner_id] = [a for a, _ in items]
        return index

    @classmethod
    def of_busy(cls, busy: dict) -> "BusyIndex":
        """From {practitioner: [occupancy.Busy]} (datetimes)."""
        return cls.of_seconds({p: sorted((_second(b.start), _second(b.end)) for b in items)
                               for p, items in busy.items()})

    def between(self, practitioner_id: str, low: int, high: int) -> list[Interval]:
        """The intervals overlapping [low, high)."""
        starts = self._starts.get(practitioner_id)
        if not starts:
            return []
        intervals = self._intervals[practitioner_id]
        first = bisect_left(starts, low - LOOKBACK_SECONDS)
        last = bisect_left(starts, high)
        return [i for i in intervals[first:last] if i.end > low]


LOOKBACK_SECONDS = int(occupancy.LOOKBACK.total_seconds())


def slots_for_day(templates: Templates, pairs, day: date, busy: BusyIndex, minutes: int, *,
                  time_of_day: str | None = None, not_before: datetime | None = None) -> list[Slot]:
    """Free slots of `pairs` (practitioner, location) on `day`."""
    length = 60 * minutes
    step = 60 * max(1, min(STEP_MINUTES, minutes))
    first, last = (_second(moment) for moment in practice_time.day_bounds(day))
    noon = _second(practice_time.to_utc(practice_time.local(day, NOON)))
    earliest = _second(not_before) if not_before is not None else None
    found = []
    for practitioner_id, location_id in pairs:
        open_seconds = templates.open_seconds(practitioner_id, location_id, day)
        if not open_seconds or max(b - a for a, b in open_seconds) < length:
            continue  # closed, or no stretch of open time is that long
        taken = busy.between(practitioner_id, first, last)
        for start in free_start_seconds(open_seconds, taken, length, step, earliest):
            if time_of_day == "morning" and start >= noon or time_of_day == "afternoon" and start < noon:
                continue
            found.append(Slot(practitioner_id, location_id, _instant(start), _instant(start + length)))
    found.sort(key=lambda s: (s.start, s.practitioner_id, s.location_id))
    return found


def _checked_slots(templates: Templates, pairs, day: date, copied: BusyIndex, minutes: int,
                   time_of_day: str | None, now: datetime) -> list[Slot]:
    """The day's free slots: found with the BusyTime copy, then worked out again from the record
    itself for the providers the copy shows free, so nothing stale is ever offered."""
    candidates = slots_for_day(templates, pairs, day, copied, minutes, time_of_day=time_of_day, not_before=now)
    if not candidates:
        return []
    providers = {s.practitioner_id for s in candidates}
    first, last = practice_time.day_bounds(day)
    truth = BusyIndex.of_busy(occupancy.busy_by_practitioner(first, last, providers))
    return slots_for_day(templates, [p for p in pairs if p[0] in providers], day, truth, minutes,
                         time_of_day=time_of_day, not_before=now)


def free_slots(context: Context, practitioner_id: str, location_id: str, day: date, type_code: str) -> list[Slot]:
    """Free start times of one provider at one location on one local day."""
    _require_read(context)
    kind = appointment_type(type_code)
    templates = Templates([practitioner_id], location_id, day, day)
    first, last = practice_time.day_bounds(day)
    busy = BusyIndex.of_busy(occupancy.busy_by_practitioner(first, last, [practitioner_id]))
    return slots_for_day(templates, [(practitioner_id, location_id)], day, busy, kind.minutes,
                         not_before=clock.now())


def next_available(context: Context, *, practitioner_ids=None, location_id: str | None = None, type_code: str,
                   start_date: date | None = None, days: int = 60, time_of_day: str | None = None,
                   weekdays=None, limit: int = 10) -> list[Slot]:
    """The earliest free slots for an appointment type across providers (and locations).

    `practitioner_ids` None means every provider with hours (at `location_id` if given);
    `time_of_day` "morning" (starts before noon) or "afternoon"; `weekdays` 0 (Monday) to 6.
    """
    _require_read(context)
    if time_of_day and time_of_day not in TIMES_OF_DAY:
        raise BookingError.at("time_of_day", f"'{time_of_day}' is not a time of day; use morning or afternoon.")
    if not 1 <= days <= 366:
        raise BookingError.at("days", "Search between 1 and 366 days ahead.")
    kind = appointment_type(type_code)
    start_date = start_date or practice_time.today()
    with occupancy.quick_reads():
        return _search(start_date, start_date + timedelta(days=days - 1), practitioner_ids, location_id, kind,
                       time_of_day, weekdays, limit)


def _search(start_date: date, last_date: date, practitioner_ids, location_id: str | None, kind: AppointmentType,
            time_of_day: str | None, weekdays, limit: int) -> list[Slot]:
    templates = Templates(practitioner_ids, location_id, start_date, last_date)
    pairs = templates.pairs()
    if not pairs:
        return []
    wanted_days = set(int(d) for d in weekdays) if weekdays else None
    practitioners = templates.practitioner_ids()
    now = clock.now()
    found: list[Slot] = []
    day, chunk = start_date, 1  # most searches end on the first day or two: read ahead only as needed
    while day <= last_date and len(found) < limit:
        chunk_last = min(day + timedelta(days=chunk - 1), last_date)
        # Only days someone works (and the caller wants) are read at all.
        days = [d for d in (day + timedelta(days=n) for n in range((chunk_last - day).days + 1))
                if (wanted_days is None or d.weekday() in wanted_days)
                and any(templates.open_intervals(p, loc, d) for p, loc in pairs)]
        if days:
            window_start = practice_time.day_bounds(days[0])[0]
            window_end = practice_time.day_bounds(days[-1])[1]
            copied = BusyIndex.of_seconds(projection.busy_seconds(window_start, window_end, practitioners))
            for workday in days:
                found += _checked_slots(templates, pairs, workday, copied, kind.minutes, time_of_day, now)
                if len(found) >= limit:
                    break
        day = chunk_last + timedelta(days=1)
        chunk *= 2  # a fully booked stretch: read further ahead at once
    return found[:limit]
