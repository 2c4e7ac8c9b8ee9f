"""Writing many rows at once with plain SQL, where building a model instance per row and compiling
it costs more than the database's own work (ledger postings, index rows, history, audit).

`insert_rows` streams rows with COPY on PostgreSQL (several times faster than INSERT; binary when every
column has a plain type, so the server parses no text; inside `pipelined`, which COPY cannot join, one
INSERT reading a JSON parameter) and with multi-row INSERTs of up to a thousand rows on SQLite: a table
with an INSERT trigger (the ledger's closed-month guard, the audit log's) costs SQLite a statement
journal per statement, so a row per statement (`executemany`) cost twice as much as the rows
themselves. `insert_returning_ids` gives rows whose new keys the caller needs: on SQLite a multi-row
INSERT ... RETURNING id (the ids come in the order of the VALUES, which Django's own bulk_create relies
on as well), on PostgreSQL keys drawn from the table's sequence and COPY. Values must already be in
their database form (dates, datetimes through `db_datetime`), and of the column's own Python type.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import orjson
from django.db import connection

from mederi.fhir import jsonio  # plain JSON helpers, no other part of the project


def datetime_adapter():
    """The current database's form of aware datetimes, for a batch of rows: the connection is looked up
    once (through Django's proxy it cost more than the conversion) and each moment converted once."""
    adapt, converted = connection.ops.adapt_datetimefield_value, {}

    def adapted(value):
        if value is None:
            return None
        found = converted.get(value)
        if found is None:
            found = converted[value] = adapt(value)
        return found

    return adapted


def db_datetime(value):
    return datetime_adapter()(value)


def insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    if connection.vendor == "postgresql":
        if _in_pipeline():
            # COPY cannot join a pipeline: the rows go as one JSON parameter, cheap to write here, that
            # the server reads into typed columns.
            types = _column_types(table)
            fields = ", ".join(f"{quote(column)} {types[column]}" for column in columns)
            document = orjson.dumps([dict(zip(columns, row, strict=True)) for row in rows],
                                    default=jsonio.exact_decimal).decode()
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM "
                               f"json_to_recordset(%s::json) AS x({fields})", [document])
            return
        # The raw driver's COPY bypasses Django's cursor: its errors are translated here, so that callers
        # catch the same IntegrityError or DatabaseError on either database. In binary when every column's
        # type is a plain one: the server then parses no text (a fifth to a quarter less of its time).
        binary = _binary_types(table, columns)
        with connection.wrap_database_errors, connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {quote(table)} ({names}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")) as copy:
            if binary:
                copy.set_types(binary)
            for row in rows:
                copy.write_row(row)
        return
    with connection.cursor() as cursor:
        for sql, values in _multi_row_inserts(f"INSERT INTO {quote(table)} ({names}) VALUES ", len(columns), rows,
                                              _sqlite_rows_per_statement(len(columns))):
            _execute(cursor, sql, values)


def _execute(cursor, sql: str, values: list) -> None:
    if connection.vendor != "sqlite":
        cursor.execute(sql, values)
        return
    # Straight to the driver with its own ? placeholders: Django's SQLite cursor rewrites every %s of the
    # statement with a regular expression first, which for a thousand-row INSERT cost more than running it.
    with connection.wrap_database_errors:
        sqlite3.Cursor.execute(cursor.cursor, sql, values)


def _sqlite_rows_per_statement(width: int) -> int:
    # SQLite's own limit on bound values (32,766 since 3.32), not Django's conservative 999.
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(1000, limit // width))


def _placeholder() -> str:
    return "?" if connection.vendor == "sqlite" else "%s"


def _multi_row_inserts(head: str, width: int, rows: list[tuple], per_statement: int):
    """(sql, flat values) for `rows` in statements of at most `per_statement` rows."""
    one = f"({', '.join([_placeholder()] * width)})"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        yield head + ", ".join([one] * len(chunk)), [value for row in chunk for value in row]


def insert_returning_ids(table: str, columns: tuple[str, ...], rows: list[tuple], batch: int = 500) -> list[int]:
    """The new primary keys, in the order of `rows`."""
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql" and rows:
        # Keys drawn from the table's sequence in one query, then COPY: an INSERT ... RETURNING of five
        # hundred rows a statement cost PostgreSQL five times what COPY does for the same rows.
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s) ORDER BY 1",
                           [quote(table), len(rows)])
            ids = [found[0] for found in cursor.fetchall()]
        insert_rows(table, ("id", *columns), [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
        return ids
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    ids: list[int] = []
    with connection.cursor() as cursor:
        for sql, values in _multi_row_inserts(head, len(columns), rows, batch):
            _execute(cursor, sql + " RETURNING id", values)
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


@contextmanager
def pipelined():
    """On PostgreSQL, statements in the block go out without waiting for their answers (pipeline mode), so
    the server works on them while the block does work of its own; the block's end waits for them all. An
    error of any of them is raised at the block's end, or sooner, at a later statement of the block. A
    query still gets its answer (it waits for what went before it), but an UPDATE's row count is not
    known inside the block, and a statement string holding several statements is refused: so repository
    writes are staged in the block and flushed after it. On SQLite nothing changes."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


def check_foreign_keys() -> None:
    """Check now the foreign keys of the rows written so far, which PostgreSQL would check at commit (in
    `pipelined`, while the caller goes on); rows written later are checked at commit again, as usual."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checks what is pending
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


_TYPES: dict[str, dict[str, str]] = {}


def _column_types(table: str) -> dict[str, str]:
    """The SQL type of each column of a model's table, from the model (in a pipeline, asking the database
    would wait for everything sent before)."""
    if table not in _TYPES:
        from django.apps import apps

        fields = next((m._meta.local_fields for m in apps.get_models() if m._meta.db_table == table), ())
        _TYPES[table] = {field.column: field.rel_db_type(connection) if field.is_relation else
                         field.db_type(connection) for field in fields}
    return _TYPES[table]


# Column types as the driver names them for binary COPY; a column of any other type keeps the table's COPY in text.
_BINARY_NAMES = {"bigint": "int8", "integer": "int4", "smallint": "int2", "boolean": "bool", "date": "date",
                 "timestamp with time zone": "timestamptz", "text": "text", "varchar": "varchar", "numeric": "numeric",
                 "double precision": "float8"}


def _binary_types(table: str, columns: tuple[str, ...]) -> list[str] | None:
    types = _column_types(table)  # none for a table without a model: text, which needs no types
    names = [_BINARY_NAMES.get(types.get(column, "").split("(", 1)[0]) for column in columns]
    return None if None in names else names


def _in_pipeline() -> bool:
    from psycopg import pq

    return connection.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF
