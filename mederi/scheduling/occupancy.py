"""Which appointments lie in a stretch of time, read straight from the record's search index.

Every Appointment written to the record — by these services, by an outside FHIR client, by an
import — has a `date` row (its start) in `fhir_idx_date` and `practitioner` / `location` rows
in `fhir_idx_reference`, maintained by the repository in the transaction that wrote it. Reading
those tables with plain SQL is what keeps a day calendar or a 60-day availability search fast at
a million appointments, and it sees every appointment, whoever wrote it. The start comes from
the date index and the status from the token index; the end is read out of the stored JSON by
the database itself (`json_extract` on SQLite, `->>` on PostgreSQL), so no row is parsed in Python.

These functions apply no access rules: they answer "is the provider busy", which every
scheduler needs to know. Pages that show who the appointments are for filter what the caller
may see (`fhir.access`) and audit it (selectors.py).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from mederi.fhir.repository import _datetime_from_db
from mederi.fhir.rows import chunks, one_of, placeholders
from mederi.scheduling import practice_time
from mederi.scheduling.records import OCCUPYING

# Appointments that began this long before a window are still looked at, in case they reach
# into it (the index holds only the start): the longest appointment type lasts 8 hours.
LOOKBACK = timedelta(hours=8)


_QUICK_SETTINGS = ("SELECT set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true), "
                   "set_config('plan_cache_mode', 'force_custom_plan', true)")
_quick = threading.local()


@contextmanager
def quick_reads():
    """Several of this module's short, indexed reads as one unit.

    On PostgreSQL they run in one transaction with parallel workers and JIT compilation off: the
    planner, misjudging how few rows a list of ids finds, otherwise starts workers or compiles
    expressions, which costs tens of milliseconds on a small machine for queries that take a
    few. And every statement is planned for its own values: one the driver has prepared would
    otherwise fall back to a generic plan, which for "one of this array of ids" can read a whole
    table. The settings are made once for the unit, not once a query (each is a round trip).
    """
    if connection.vendor != "postgresql" or getattr(_quick, "active", False):
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_QUICK_SETTINGS)
        _quick.active = True
        try:
            yield
        finally:
            _quick.active = False


@contextmanager
def quick_cursor():
    """A cursor for one of this module's reads (inside `quick_reads`, set up as it explains)."""
    with quick_reads(), connection.cursor() as cursor:
        yield cursor


@dataclass(frozen=True)
class Busy:
    start: datetime
    end: datetime
    appointment_id: str


def db_time(moment: datetime):
    """An instant as the database compares it (SQLite: naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(practice_time.to_utc(moment))


def _json_text(column: str, key: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column}::json ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def busy_by_practitioner(start: datetime, end: datetime, practitioner_ids, *, exclude_ids=()
                         ) -> dict[str, list[Busy]]:
    """Occupying appointments (booked, arrived, checked-in, pending) of each practitioner that
    overlap [start, end), sorted by start; appointments in `exclude_ids` left out."""
    practitioner_ids = sorted(set(practitioner_ids))
    if not practitioner_ids:
        return defaultdict(list)
    return _busy(start, end, practitioner_ids, exclude_ids)


def busy_by_location(start: datetime, end: datetime, location_ids, *, exclude_ids=()) -> dict[str, list[Busy]]:
    """`busy_by_practitioner` for Location participants: what holds a room in [start, end)."""
    location_ids = sorted(set(location_ids))
    if not location_ids:
        return defaultdict(list)
    return _busy(start, end, location_ids, exclude_ids, participant="location")


def busy_in_window(start: datetime, end: datetime) -> dict[str, list[Busy]]:
    """`busy_by_practitioner` for every practitioner."""
    return _busy(start, end, None, ())


# search parameter -> the resource type its references point to
_PARTICIPANTS = {"practitioner": "Practitioner", "location": "Location"}


def _busy(start: datetime, end: datetime, target_ids: list[str] | None, exclude_ids, *,
          participant: str = "practitioner") -> dict[str, list[Busy]]:
    found: dict[str, list[Busy]] = defaultdict(list)
    # Drive from the date index, keep only these participants' rows, then only occupying statuses
    # (the token index), and read the stored JSON only for what is left, for its end. CROSS JOIN
    # tells SQLite the join order (left to itself it reads every row's JSON first); PostgreSQL
    # plans it as it sees fit.
    chosen, chosen_params = one_of("x.target_id", target_ids) if target_ids else ("1 = 1", [])
    sql = (
        f"SELECT x.target_id, d.low, {_json_text('r.content', 'end')}, r.logical_id "
        "FROM fhir_idx_date d CROSS JOIN fhir_idx_reference x CROSS JOIN fhir_resource r "
        "WHERE d.resource_type = 'Appointment' AND d.param = 'date' AND d.low >= %s AND d.low < %s "
        f"AND x.resource_id = d.resource_id AND x.param = '{participant}' "
        f"AND x.target_type = '{_PARTICIPANTS[participant]}' AND {chosen} "
        "AND EXISTS (SELECT 1 FROM fhir_idx_token t WHERE t.resource_id = d.resource_id AND t.param = 'status' "
        f"AND t.code IN ({placeholders(OCCUPYING)})) "
        "AND r.id = d.resource_id"
    )
    params = [db_time(start - LOOKBACK), db_time(end), *chosen_params, *OCCUPYING]
    excluded = set(exclude_ids)
    with quick_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for target_id, low, end_text, logical_id in rows:
        if logical_id in excluded or not end_text:
            continue
        begins = _datetime_from_db(low)
        ends = practice_time.parse_instant(end_text)
        if ends > start and begins < end:
            found[target_id].append(Busy(begins, ends, logical_id))
    for intervals in found.values():
        intervals.sort(key=lambda b: (b.start, b.end))
    return found


WITHDRAWN = ("cancelled", "entered-in-error")  # appointments a calendar leaves out of its grid


def appointment_rows(start: datetime, end: datetime, *, location_id: str | None = None,
                     practitioner_ids=None, withdrawn: bool | None = False) -> list[tuple[int, str]]:
    """(primary key, JSON) of the Appointments starting in [start - LOOKBACK, end) at the location
    and/or with one of the practitioners: without the cancelled (and entered-in-error) ones by
    default, only those with `withdrawn=True`, all with None. Statuses are tested on the token
    index, so leaving cancellations out also spares reading their JSON."""
    conditions, params = [], [db_time(start - LOOKBACK), db_time(end)]
    if withdrawn is not None:
        conditions.append(f"{'' if withdrawn else 'NOT '}EXISTS (SELECT 1 FROM fhir_idx_token t "
                          "WHERE t.resource_id = d.resource_id AND t.param = 'status' "
                          f"AND t.code IN ({placeholders(WITHDRAWN)}))")
        params += WITHDRAWN
    if location_id:
        conditions.append("EXISTS (SELECT 1 FROM fhir_idx_reference x WHERE x.resource_id = d.resource_id "
                          "AND x.param = 'location' AND x.target_type = 'Location' AND x.target_id = %s)")
        params.append(location_id)
    if practitioner_ids:
        chosen, chosen_params = one_of("y.target_id", sorted(set(practitioner_ids)))
        conditions.append("EXISTS (SELECT 1 FROM fhir_idx_reference y WHERE y.resource_id = d.resource_id "
                          f"AND y.param = 'practitioner' AND y.target_type = 'Practitioner' AND {chosen})")
        params += chosen_params
    sql = ("SELECT r.id, r.content FROM fhir_idx_date d JOIN fhir_resource r ON r.id = d.resource_id "
           "WHERE d.resource_type = 'Appointment' AND d.param = 'date' AND d.low >= %s AND d.low < %s"
           + "".join(f" AND {c}" for c in conditions) + " ORDER BY d.low, r.id")
    with quick_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def current_contents(resource_type: str, logical_ids) -> dict[str, str]:
    """JSON of the current, not deleted resources of a type by id (directory and patient names)."""
    from mederi.fhir import sensitive

    ids = sorted(set(i for i in logical_ids if i))
    found: dict[str, str] = {}
    for chunk in chunks(ids):
        chosen, chosen_params = one_of("logical_id", chunk)
        with quick_cursor() as cursor:
            cursor.execute(f"SELECT logical_id, content FROM fhir_resource WHERE resource_type = %s "
                           f"AND {chosen} AND deleted = %s", [resource_type, *chosen_params, False])
            for logical_id, content in cursor.fetchall():
                found[logical_id] = sensitive.open_content(resource_type, content)
    return found


def coverages_of(patient_ids) -> dict[str, list[str]]:
    """Ids of the active Coverages of each patient (by beneficiary), for the eligibility column.

    Two plain lookups (the index rows, then those resources by primary key) rather than one join:
    joined, PostgreSQL's estimate for a long list of patients sometimes tipped it into reading
    every stored resource (seconds instead of milliseconds).
    """
    ids = sorted(set(i for i in patient_ids if i))
    found: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(ids):
        chosen, chosen_params = one_of("target_id", chunk)
        with quick_cursor() as cursor:
            cursor.execute("SELECT resource_id, target_id FROM fhir_idx_reference WHERE resource_type = 'Coverage' "
                           f"AND param = 'beneficiary' AND target_type = 'Patient' AND {chosen}", chosen_params)
            beneficiary = dict(cursor.fetchall())
        for keys in chunks(sorted(beneficiary)):
            chosen, chosen_params = one_of("id", keys)
            with quick_cursor() as cursor:
                cursor.execute(f"SELECT id, logical_id, {_json_text('content', 'status')} FROM fhir_resource "
                               f"WHERE {chosen} AND deleted = %s ORDER BY logical_id", [*chosen_params, False])
                for pk, coverage_id, status in cursor.fetchall():
                    if status == "active":
                        found[beneficiary[pk]].append(coverage_id)
    return found


def patient_names(patient_ids) -> dict[str, list]:
    """The `name` element of each Patient (parsed here: PostgreSQL's own JSON parsing of whole
    records, to hand back only the names, was slower than sending the records)."""
    import orjson

    ids = sorted(set(i for i in patient_ids if i))
    found: dict[str, list] = {}
    for chunk in chunks(ids):
        chosen, chosen_params = one_of("r.logical_id", chunk)
        with quick_cursor() as cursor:
            cursor.execute(f"SELECT r.logical_id, r.content FROM fhir_resource r WHERE r.resource_type = 'Patient' "
                           f"AND {chosen} AND r.deleted = %s", [*chosen_params, False])
            for logical_id, content in cursor.fetchall():
                found[logical_id] = orjson.loads(content).get("name") or []
    return found
