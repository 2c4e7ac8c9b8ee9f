"""A set of database triggers, per database vendor, that an app installs and a full wipe lifts.

The audit log and the ledger both guard their tables with triggers (append-only rows and more);
each describes its set once as a `TriggerSet` and gets the same install, drop and lift.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class TriggerSet:
    table: str  # the guarded table whose presence says the triggers belong in this database
    sqlite_install: list[str]
    sqlite_drop: list[str]
    postgres_install: list[str]
    postgres_drop: list[str]

    def install_sql(self, vendor: str) -> list[str]:
        return {"sqlite": self.sqlite_install, "postgresql": self.postgres_install}.get(vendor, [])

    def drop_sql(self, vendor: str) -> list[str]:
        return {"sqlite": self.sqlite_drop, "postgresql": self.postgres_drop}.get(vendor, [])

    def install(self, connection) -> None:
        with connection.cursor() as cursor:
            for sql in self.install_sql(connection.vendor):
                cursor.execute(sql)

    def drop(self, connection) -> None:
        with connection.cursor() as cursor:
            for sql in self.drop_sql(connection.vendor):
                cursor.execute(sql)

    @contextmanager
    def lifted(self, connection):
        """Without the triggers for the duration of the block (used only to wipe a whole database)."""
        present = self.table in connection.introspection.table_names()
        if present:
            self.drop(connection)
        try:
            yield
        finally:
            if present and self.table in connection.introspection.table_names():
                self.install(connection)
