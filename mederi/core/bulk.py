"""Writing many rows at once with plain SQL, where building a model instance per row and compiling
it costs more than the database's own work (ledger postings, index rows, history, audit).

`insert_rows` streams rows with COPY on PostgreSQL (several times faster than INSERT) and with one
prepared `executemany` on SQLite. `insert_returning_ids` is a multi-row INSERT ... RETURNING id for
rows whose new keys the caller needs; both engines return the ids in the order of the VALUES, which
Django's own bulk_create relies on as well. Values must already be in their database form (dates,
datetimes through `db_datetime`).
"""

from __future__ import annotations

import functools

from django.db import connection


def db_datetime(value):
    return _adapted(connection.vendor, value) if value is not None else None


@functools.lru_cache(maxsize=4096)
def _adapted(vendor: str, value):
    # A file's rows share their moments (payment date, posting time): Django's conversion is not cheap.
    return connection.ops.adapt_datetimefield_value(value)


def insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])


def insert_returning_ids(table: str, columns: tuple[str, ...], rows: list[tuple], batch: int = 500) -> list[int]:
    """The new primary keys, in the order of `rows`."""
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    one = f"({', '.join(['%s'] * len(columns))})"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            cursor.execute(head + ", ".join([one] * len(chunk)) + " RETURNING id", [v for row in chunk for v in row])
            ids += [found[0] for found in cursor.fetchall()]
    return ids


def add_to_column(table: str, column: str, deltas: list[tuple[int, int]]) -> None:
    """`column = column + delta` for each (id, delta), as one prepared statement."""
    if not deltas:
        return
    quote = connection.ops.quote_name
    sql = f"UPDATE {quote(table)} SET {quote(column)} = {quote(column)} + %s WHERE id = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(delta, pk) for pk, delta in deltas])
