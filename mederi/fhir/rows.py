"""Current resource rows read with plain SQL, as StoredResources, and the small SQL helpers
that searches, includes and access filters build their conditions with."""

from __future__ import annotations

from django.db import connection

from mederi.fhir import sensitive

SELECT_COLUMNS = "r.id, r.resource_type, r.logical_id, r.version_id, r.last_updated, r.content"

# A condition: SQL text with %s placeholders, and the values for them in order.
Condition = tuple[str, list]
NOTHING: Condition = ("1 = 0", [])


def placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def one_of(column: str, values) -> Condition:
    """`column` is one of `values`. PostgreSQL gets one array parameter: turning a query with hundreds
    of placeholders into a prepared statement cost more than the query itself."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({placeholders(values)})", values


def chunks(values: list, size: int = 2000):
    """`values` in lists small enough for one_of: SQLite takes at most 32,766 parameters a statement;
    PostgreSQL needs no chunks at all."""
    if connection.vendor == "postgresql":
        yield values
        return
    for begin in range(0, len(values), size):
        yield values[begin : begin + size]


def any_of(conditions: list[Condition]) -> Condition:
    """The conditions ORed; none at all matches nothing."""
    if not conditions:
        return NOTHING
    if len(conditions) == 1:
        return conditions[0]
    return " OR ".join(f"({sql})" for sql, _ in conditions), [p for _, params in conditions for p in params]


def stored_rows(rows) -> list:
    """StoredResources from rows of `SELECT_COLUMNS`, sensitive values opened."""
    from mederi.fhir.repository import StoredResource, _datetime_from_db

    return [
        StoredResource(pk, rt, lid, vid, _datetime_from_db(lu), False, sensitive.open_content(rt, content))
        for pk, rt, lid, vid, lu, content in rows
    ]


def fetch(sql: str, params: list) -> list:
    """StoredResources from a query that selects `SELECT_COLUMNS`."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return stored_rows(cursor.fetchall())


def load(pks: list[int]) -> list:
    """The current, not deleted resources with these primary keys, in the order given."""
    if not pks:
        return []
    found = fetch(f"SELECT {SELECT_COLUMNS} FROM fhir_resource r WHERE r.id IN ({placeholders(pks)}) "
                  "AND r.deleted = %s", [*pks, False])
    by_pk = {stored.pk: stored for stored in found}
    return [by_pk[pk] for pk in pks if pk in by_pk]
