"""What the reports count about a period's appointments, and how it is kept true to the record.

Every Appointment in the record, whoever wrote it (the scheduling services, an outside FHIR
client, an import), has one row in the record's date index (`fhir_idx_date`, param `date`: its
start), written by the repository in the transaction that wrote the appointment. The repository
replaces all index rows of a resource on every write, and index row ids are never reused, so the
id of that row changes exactly when the appointment changes.

`AppointmentFact` (models.py) keeps, per date-index row, what the reports group by: status, type,
practitioner, location, start and booked minutes. Before a report reads a period, `sync` compares
the period's date-index row ids with the facts' (index-only queries: a count and sums first, then,
when they differ, which rows) and brings the facts up to date: facts for new or changed
appointments are parsed from the stored JSON (the same parser the schedule uses), facts whose row
is gone are dropped. So a report always counts the record as it is, and only what changed since
the last report is parsed. `count` then groups the period's facts in one query.

Rules the counts follow, the same in every report:
- an appointment belongs to the period its start lies in; appointments without a start
  (proposed, waitlist) belong to no period;
- its practitioner is its first Practitioner participant and its location its first Location
  participant, so an appointment is counted once;
- these are counts, not patient data: restricted records are counted like any other, as their
  time is shown as busy on the calendars too.

A change committed while a report is being made may be missed by that report (never counted
twice); the next report sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.db import connection, transaction
from django.db.models import Case, Count, IntegerField, Sum, Value, When

from mederi.fhir.rows import placeholders
from mederi.reports.models import AppointmentFact
from mederi.scheduling import records
from mederi.scheduling.occupancy import db_time

CHUNK = 500
SYNC_STEP = timedelta(days=31)


@dataclass(frozen=True)
class Group:
    """How many appointments share these values."""

    status: str
    type_code: str
    practitioner_id: str
    location_id: str
    week: int  # index into the week starts given: 0 before the first, 1 before the second, ...
    count: int
    minutes: int  # the sum of their lengths (end - start)


_FACT = AppointmentFact._meta.db_table
_IN_PERIOD = "d.resource_type = 'Appointment' AND d.param = 'date' AND d.low >= %s AND d.low < %s"


def _instant(value) -> datetime:
    """A date-index value read with plain SQL (SQLite gives naive UTC text) as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _fact(date_row_id: int, low, content: str) -> AppointmentFact:
    """The fact of one appointment; its start is the index's, so facts and index agree on periods."""
    view = records.view_of(content)
    start = _instant(low)
    minutes = 0
    if view.end is not None and view.end > start:
        minutes = round((view.end - start).total_seconds() / 60)
    return AppointmentFact(date_row_id=date_row_id, appointment_id=view.id[:64], start=start, minutes=minutes,
                           status=view.status[:32], type_code=view.type_code[:64],
                           practitioner_id=(view.practitioner_id or "")[:64], location_id=(view.location_id or "")[:64])


def sync(start: datetime, end: datetime) -> tuple[int, int]:
    """Bring the facts of appointments starting in [start, end) up to date with the record;
    returns (facts added, facts dropped). Works a month at a time, so a long first sync holds
    one month's appointments in memory, not a year's."""
    added = dropped = 0
    while start < end:
        piece_end = min(start + SYNC_STEP, end)
        new, stale = _sync_piece(start, piece_end)
        added, dropped, start = added + new, dropped + stale, piece_end
    return added, dropped


def _in_step(cursor, bounds: list) -> bool:
    """Whether the facts of the period hold exactly the date-index rows of the period, told by
    their count and two sums of their ids: two index range scans, no lookups. Any change brings
    a new id and drops an old one, so the sums move (a coincidence would need new ids that add up
    to the dropped ones in both sums at once)."""
    cursor.execute("SELECT COUNT(*), SUM(d.id), SUM(d.id %% 65521) FROM fhir_idx_date d WHERE " + _IN_PERIOD, bounds)
    record = tuple(cursor.fetchone())
    cursor.execute(f"SELECT COUNT(*), SUM(f.date_row_id), SUM(f.date_row_id %% 65521) FROM {_FACT} f "
                   "WHERE f.start >= %s AND f.start < %s", bounds)
    return tuple(cursor.fetchone()) == record


def _sync_piece(start: datetime, end: datetime) -> tuple[int, int]:
    bounds = [db_time(start), db_time(end)]
    with connection.cursor() as cursor:
        if _in_step(cursor, bounds):
            return 0, 0
        # New first, then stale: a change committed between the two is missed, never counted twice.
        cursor.execute("SELECT d.id, d.low, r.content FROM fhir_idx_date d "
                       "JOIN fhir_resource r ON r.id = d.resource_id "
                       f"WHERE {_IN_PERIOD} AND NOT EXISTS (SELECT 1 FROM {_FACT} f WHERE f.date_row_id = d.id)",
                       bounds)
        new = [_fact(row_id, low, content) for row_id, low, content in cursor.fetchall()]
        cursor.execute(f"SELECT f.id FROM {_FACT} f WHERE f.start >= %s AND f.start < %s "
                       "AND NOT EXISTS (SELECT 1 FROM fhir_idx_date d WHERE d.id = f.date_row_id)", bounds)
        stale = [row[0] for row in cursor.fetchall()]
    if new or stale:
        with transaction.atomic():
            for begin in range(0, len(stale), CHUNK):
                chunk = stale[begin : begin + CHUNK]
                with connection.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {_FACT} WHERE id IN ({placeholders(chunk)})", chunk)
            AppointmentFact.objects.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)
    return len(new), len(stale)


DIMENSIONS = ("status", "type_code", "practitioner_id", "location_id")


def count(start: datetime, end: datetime, *, by=DIMENSIONS, week_starts=(), statuses=None,
          location_id: str | None = None, practitioner_id: str | None = None) -> list[Group]:
    """Appointments starting in [start, end), grouped by the DIMENSIONS in `by` (the others are
    left empty: grouping by fewer is quicker) and by week when `week_starts` (the instants where
    each week after the first begins) are given.

    Only those with one of `statuses`, at `location_id`, with `practitioner_id`, when given.
    Call `sync` for the period first.
    """
    by = [name for name in DIMENSIONS if name in by]
    facts = AppointmentFact.objects.filter(start__gte=start, start__lt=end)
    if statuses is not None:
        facts = facts.filter(status__in=list(statuses))
    if location_id:
        facts = facts.filter(location_id=location_id)
    if practitioner_id:
        facts = facts.filter(practitioner_id=practitioner_id)
    week = Case(*[When(start__lt=moment, then=Value(index)) for index, moment in enumerate(week_starts)],
                default=Value(len(week_starts)), output_field=IntegerField()) if week_starts else Value(0)
    rows = facts.annotate(week=week).values(*by, "week").annotate(total=Count("*"), booked=Sum("minutes")).order_by()
    return [Group(*(r.get(name, "") for name in DIMENSIONS), week=int(r["week"]), count=r["total"],
                  minutes=int(r["booked"] or 0)) for r in rows]


def synced_count(start: datetime, end: datetime, **filters) -> list[Group]:
    """`count` after `sync`: what a report reads."""
    sync(start, end)
    return count(start, end, **filters)
