"""Database triggers that keep the ledger append-only and closed months closed, on SQLite and PostgreSQL.

The models refuse updates and deletes already; these guards hold for any SQL that reaches the
database (a console, a script, a bug elsewhere), as the audit log's do (mederi/audit/triggers.py,
whose approach this follows):

- `ledger_transaction`, `ledger_posting` and `ledger_month_close` refuse UPDATE and DELETE (and, on
  PostgreSQL, TRUNCATE): a mistake is corrected by a reversing transaction.
- A transaction dated on or before the last day of the latest closed month is refused, and so is a
  posting added to such a transaction (on PostgreSQL checked once per INSERT statement over the rows
  it inserted, so bulk posting pays one check per statement, not one per row).

Account balances (`ledger_account`) are not guarded: they move with every posting. The `flush`
command, which wipes the whole database, lifts these guards for its own duration (registered with
the audit log's in `apps.py`).
"""

from __future__ import annotations

from mederi.core.triggers import TriggerSet

MESSAGE = "the ledger is append-only: post a reversing transaction instead of changing or removing a row"
CLOSED_MESSAGE = "that date is in a closed month: post the correction in the open month"
TABLES = ("ledger_transaction", "ledger_posting", "ledger_month_close")
_CLOSED_THROUGH = "(SELECT MAX(period_end) FROM ledger_month_close)"

_SQLITE_INSTALL = [
    sql
    for table in TABLES
    for sql in (
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    )
] + [
    # Dates are stored as ISO text on SQLite, so comparing them as text compares them as dates. The
    # EXISTS comes first so that, before any month is closed, a posting costs one look at an empty table.
    f"""CREATE TRIGGER IF NOT EXISTS ledger_transaction_closed_month BEFORE INSERT ON ledger_transaction
        WHEN EXISTS (SELECT 1 FROM ledger_month_close) AND NEW.effective_date <= {_CLOSED_THROUGH}
        BEGIN SELECT RAISE(ABORT, '{CLOSED_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_posting_closed_month BEFORE INSERT ON ledger_posting
        WHEN EXISTS (SELECT 1 FROM ledger_month_close)
            AND (SELECT effective_date FROM ledger_transaction WHERE id = NEW.transaction_id) <= {_CLOSED_THROUGH}
        BEGIN SELECT RAISE(ABORT, '{CLOSED_MESSAGE}'); END""",
]
_SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {table}_no_{op}" for table in TABLES for op in ("update", "delete")] + [
    "DROP TRIGGER IF EXISTS ledger_transaction_closed_month",
    "DROP TRIGGER IF EXISTS ledger_posting_closed_month",
]

_POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END
        $$""",
    # Once per INSERT statement, over all the rows it inserted (a transition table), not once per
    # row: an 835 inserts tens of thousands of postings in a few statements.
    f"""CREATE OR REPLACE FUNCTION ledger_refuse_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE closed date; early date;
        BEGIN
            SELECT MAX(period_end) INTO closed FROM ledger_month_close;
            IF closed IS NULL THEN RETURN NULL; END IF;
            IF TG_TABLE_NAME = 'ledger_transaction' THEN
                SELECT MIN(effective_date) INTO early FROM inserted WHERE effective_date <= closed;
            ELSE
                SELECT MIN(t.effective_date) INTO early FROM inserted i
                    JOIN ledger_transaction t ON t.id = i.transaction_id WHERE t.effective_date <= closed;
            END IF;
            IF early IS NOT NULL THEN
                RAISE EXCEPTION '{CLOSED_MESSAGE} (% is on or before %)', early, closed
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $$""",
] + [
    sql
    for table in TABLES
    for sql in (
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()""",
    )
] + [
    sql
    for table in ("ledger_transaction", "ledger_posting")
    for sql in (
        f"DROP TRIGGER IF EXISTS {table}_closed_month ON {table}",
        f"""CREATE TRIGGER {table}_closed_month AFTER INSERT ON {table} REFERENCING NEW TABLE AS inserted
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_closed_month()""",
    )
]
_POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS {table}_{name} ON {table}" for table in TABLES for name in ("append_only", "no_truncate")
] + [f"DROP TRIGGER IF EXISTS {table}_closed_month ON {table}" for table in ("ledger_transaction", "ledger_posting")]


GUARDS = TriggerSet("ledger_month_close", _SQLITE_INSTALL, _SQLITE_DROP, _POSTGRES_INSTALL, _POSTGRES_DROP)
install_sql, drop_sql = GUARDS.install_sql, GUARDS.drop_sql
install, drop, lifted = GUARDS.install, GUARDS.drop, GUARDS.lifted
