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

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from mederi.fhir.repository import _datetime_from_db
from mederi.fhir.rows import placeholders
from mederi.scheduling import practice_time
from mederi.scheduling.records import OCCUPYING

# Appointments that began this long before a window are still looked at, in case they reach
# into it (the index holds only the start): the longest appointment type lasts 8 hours.
LOOKBACK = timedelta(hours=8)


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


def busy_in_window(start: datetime, end: datetime) -> dict[str, list[Busy]]:
    """`busy_by_practitioner` for every practitioner."""
    return _busy(start, end, None, ())


def _busy(start: datetime, end: datetime, practitioner_ids: list[str] | None, exclude_ids) -> dict[str, list[Busy]]:
    found: dict[str, list[Busy]] = defaultdict(list)
    # Drive from the date index, keep only these practitioners' rows, then only occupying statuses
    # (the token index), and read the stored JSON only for what is left, for its end. CROSS JOIN
    # tells SQLite the join order (left to itself it reads every row's JSON first); PostgreSQL
    # plans it as it sees fit.
    chosen = f"AND x.target_id IN ({placeholders(practitioner_ids)}) " if practitioner_ids else ""
    sql = (
        f"SELECT x.target_id, d.low, {_json_text('r.content', 'end')}, r.logical_id "
        "FROM fhir_idx_date d CROSS JOIN fhir_idx_reference x CROSS JOIN fhir_resource r "
        "WHERE d.resource_type = 'Appointment' AND d.param = 'date' AND d.low >= %s AND d.low < %s "
        "AND x.resource_id = d.resource_id AND x.param = 'practitioner' AND x.target_type = 'Practitioner' "
        f"{chosen}"
        "AND EXISTS (SELECT 1 FROM fhir_idx_token t WHERE t.resource_id = d.resource_id AND t.param = 'status' "
        f"AND t.code IN ({placeholders(OCCUPYING)})) "
        "AND r.id = d.resource_id"
    )
    params = [db_time(start - LOOKBACK), db_time(end), *(practitioner_ids or ()), *OCCUPYING]
    excluded = set(exclude_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for practitioner_id, low, end_text, logical_id in rows:
        if logical_id in excluded or not end_text:
            continue
        begins = _datetime_from_db(low)
        ends = practice_time.parse_instant(end_text)
        if ends > start and begins < end:
            found[practitioner_id].append(Busy(begins, ends, logical_id))
    for intervals in found.values():
        intervals.sort(key=lambda b: (b.start, b.end))
    return found


def appointment_rows(start: datetime, end: datetime, *, location_id: str | None = None,
                     practitioner_ids=None) -> list[tuple[int, str]]:
    """(primary key, JSON) of every Appointment starting in [start - LOOKBACK, end) at the
    location and/or with one of the practitioners, whatever its status."""
    conditions, params = [], [db_time(start - LOOKBACK), db_time(end)]
    if location_id:
        conditions.append("EXISTS (SELECT 1 FROM fhir_idx_reference x WHERE x.resource_id = d.resource_id "
                          "AND x.param = 'location' AND x.target_type = 'Location' AND x.target_id = %s)")
        params.append(location_id)
    if practitioner_ids:
        ids = sorted(set(practitioner_ids))
        conditions.append("EXISTS (SELECT 1 FROM fhir_idx_reference y WHERE y.resource_id = d.resource_id "
                          "AND y.param = 'practitioner' AND y.target_type = 'Practitioner' "
                          f"AND y.target_id IN ({placeholders(ids)}))")
        params += ids
    sql = ("SELECT r.id, r.content FROM fhir_idx_date d JOIN fhir_resource r ON r.id = d.resource_id "
           "WHERE d.resource_type = 'Appointment' AND d.param = 'date' AND d.low >= %s AND d.low < %s"
           + "".join(f" AND {c}" for c in conditions) + " ORDER BY d.low, r.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def current_contents(resource_type: str, logical_ids) -> dict[str, str]:
    """JSON of the current, not deleted resources of a type by id (directory and patient names)."""
    from mederi.fhir import sensitive

    ids = sorted(set(i for i in logical_ids if i))
    found: dict[str, str] = {}
    for begin in range(0, len(ids), 500):
        chunk = ids[begin : begin + 500]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT logical_id, content FROM fhir_resource WHERE resource_type = %s "
                           f"AND logical_id IN ({placeholders(chunk)}) AND deleted = %s", [resource_type, *chunk, False])
            for logical_id, content in cursor.fetchall():
                found[logical_id] = sensitive.open_content(resource_type, content)
    return found


def coverages_of(patient_ids) -> dict[str, list[str]]:
    """Ids of the active Coverages of each patient (by beneficiary), for the eligibility column."""
    ids = sorted(set(i for i in patient_ids if i))
    found: dict[str, list[str]] = defaultdict(list)
    for begin in range(0, len(ids), 500):
        chunk = ids[begin : begin + 500]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT x.target_id, r.logical_id FROM fhir_idx_reference x JOIN fhir_resource r ON r.id = x.resource_id "
                "WHERE x.resource_type = 'Coverage' AND x.param = 'beneficiary' AND x.target_type = 'Patient' "
                f"AND x.target_id IN ({placeholders(chunk)}) AND r.deleted = %s "
                f"AND {_json_text('r.content', 'status')} = 'active' ORDER BY r.logical_id",
                [*chunk, False])
            for patient_id, coverage_id in cursor.fetchall():
                found[patient_id].append(coverage_id)
    return found


def patient_names(patient_ids) -> dict[str, list]:
    """The `name` element of each Patient (not the whole record: a calendar needs only that)."""
    import orjson

    ids = sorted(set(i for i in patient_ids if i))
    found: dict[str, list] = {}
    column = "(r.content::json -> 'name')" if connection.vendor == "postgresql" else "json_extract(r.content, '$.name')"
    for begin in range(0, len(ids), 500):
        chunk = ids[begin : begin + 500]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT r.logical_id, {column} FROM fhir_resource r WHERE r.resource_type = 'Patient' "
                           f"AND r.logical_id IN ({placeholders(chunk)}) AND r.deleted = %s", [*chunk, False])
            for logical_id, names in cursor.fetchall():
                if isinstance(names, (str, bytes)):
                    names = orjson.loads(names)
                found[logical_id] = names or []
    return found
