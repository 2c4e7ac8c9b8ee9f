"""Database triggers that make `audit_entry` append-only, for SQLite and PostgreSQL.

Used by the migration that installs them and by the `flush` command, which wipes the whole
database (tests do so between transactional tests) and so lifts them for its own duration.
"""

from __future__ import annotations

from contextlib import contextmanager

MESSAGE = "the audit log is append-only: entries cannot be changed or removed"

_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_entry_no_update",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete",
]

_POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION audit_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
        END
        $$""",
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
        FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change()""",
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
    """CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
        FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change()""",
]
_POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
]


def install_sql(vendor: str) -> list[str]:
    return {"sqlite": _SQLITE_INSTALL, "postgresql": _POSTGRES_INSTALL}.get(vendor, [])


def drop_sql(vendor: str) -> list[str]:
    return {"sqlite": _SQLITE_DROP, "postgresql": _POSTGRES_DROP}.get(vendor, [])


def install(connection) -> None:
    with connection.cursor() as cursor:
        for sql in install_sql(connection.vendor):
            cursor.execute(sql)


def drop(connection) -> None:
    with connection.cursor() as cursor:
        for sql in drop_sql(connection.vendor):
            cursor.execute(sql)


@contextmanager
def lifted(connection):
    """Without the triggers for the duration of the block (used only to wipe a whole database)."""
    present = "audit_entry" in connection.introspection.table_names()
    if present:
        drop(connection)
    try:
        yield
    finally:
        if present and "audit_entry" in connection.introspection.table_names():
            install(connection)
