"""The BusyTime copy of the record's occupying appointments: kept, rebuilt and read.

Why it exists: the record's search index finds appointments by date, or by practitioner, but not
by both at once, so reading "the busy times of these 20 providers for 60 days" from it means
visiting every appointment of every provider in those 60 days (at a million appointments, about
100,000 rows: most of a second). This table holds (provider, start, end) with an index on
(provider, start), so the same question reads only those providers' rows.

It is a cache, and treated as one: the availability search uses it to find the days worth
looking at and then checks those days against the record itself (occupancy.py), and booking
checks the record itself. Rows are written by the scheduling services in the same transaction as
the Appointment they describe; `rebuild` copies a stretch of days from the record (an hourly job,
and after imports) for appointments written by anyone else.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction

from mederi.scheduling import occupancy, practice_time, records
from mederi.scheduling.models import BusyTime


def project(resource: dict) -> None:
    """Bring the rows of one Appointment (as just written) up to date."""
    view = records.view_of(resource)
    BusyTime.objects.filter(appointment_id=view.id).delete()
    if view.occupies:
        BusyTime.objects.bulk_create([BusyTime(appointment_id=view.id, practitioner_id=p, start_second=_second(view.start),
                                               end_second=_second(view.end)) for p in dict.fromkeys(view.practitioner_ids)])


def busy_seconds(start: datetime, end: datetime, practitioner_ids) -> dict[str, list[tuple[int, int]]]:
    """What the copy says each provider is busy with in [start, end): (start, end) in seconds since
    1970, sorted by start. Seconds, not datetimes: a 60-day search reads tens of thousands."""
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    ids = sorted(set(practitioner_ids))
    if not ids:
        return found
    chosen, chosen_params = occupancy.one_of("practitioner_id", ids)
    sql = (f"SELECT practitioner_id, start_second, end_second FROM {BusyTime._meta.db_table} "
           f"WHERE {chosen} AND start_second >= %s AND start_second < %s ORDER BY start_second")
    after = _second(start)
    with occupancy.quick_cursor() as cursor:
        cursor.execute(sql, [*chosen_params, _second(start - occupancy.LOOKBACK), _second(end)])
        for practitioner_id, begins, ends in cursor.fetchall():
            if ends > after:
                found[practitioner_id].append((begins, ends))
    return found


def rebuild(first: datetime, last: datetime) -> int:
    """Copy the record's occupying appointments starting in [first, last) into the table; returns
    how many rows it now holds for that stretch."""
    first, last = practice_time.to_utc(first), practice_time.to_utc(last)
    truth = occupancy.busy_in_window(first, last)
    with transaction.atomic():
        BusyTime.objects.filter(start_second__gte=_second(first), start_second__lt=_second(last)).delete()
        rows = [BusyTime(appointment_id=b.appointment_id, practitioner_id=p, start_second=_second(b.start),
                         end_second=_second(b.end))
                for p, items in truth.items() for b in items if b.start >= first]
        BusyTime.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def _second(moment: datetime) -> int:
    return int(moment.timestamp())
