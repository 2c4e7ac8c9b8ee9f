"""Database triggers that make `audit_entry` append-only, for SQLite and PostgreSQL.

Two guards: rows cannot be changed or removed, and a new row must chain from the last row of
the log (its `prev_hash` is the hash of the entry with the highest id, or the genesis value in
an empty log), so neither a fork nor a row chained into the middle can be stored. On
PostgreSQL the chain guard takes the same advisory lock as the application's appends, so even
a writer that forgot it is serialised. The chain guard replaces a unique index on `prev_hash`,
which was weaker (it refused forks but not a row chained from the head yet given an id in the
middle) and costly: random 64-character keys dirtied a new index page with nearly every append.

Used by the migrations that install them and by the `flush` command, which wipes the whole
database (tests do so between transactional tests) and so lifts them for its own duration.
"""

from __future__ import annotations

from mederi.audit.chain import GENESIS
from mederi.core.triggers import TriggerSet

MESSAGE = "the audit log is append-only: entries cannot be changed or removed"
CHAIN_MESSAGE = "an audit entry must chain from the last entry of the log"
ADVISORY_LOCK_KEY = 7_212_340_001  # the lock appends take (audit.services); any constant no other code uses

_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    # SQLite admits one writer at a time, so the head read here is the head the row lands on.
    f"""CREATE TRIGGER IF NOT EXISTS audit_entry_chain BEFORE INSERT ON audit_entry
        WHEN NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1), '{GENESIS}')
        BEGIN SELECT RAISE(ABORT, '{CHAIN_MESSAGE}'); END""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_entry_no_update",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete",
    "DROP TRIGGER IF EXISTS audit_entry_chain",
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
    # Checked once per statement, not per row: a background batch of read entries arrives as one
    # COPY, and a per-row check cost a query per entry. Under the lock, with a fresh snapshot, the
    # statement's rows and every row after the entry before them must each chain from the row
    # before it in id order, the first from that entry (or the genesis value in an empty log).
    f"""CREATE OR REPLACE FUNCTION audit_entry_chain_guard() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
        DECLARE first_new bigint; before_first bigint; broken boolean;
        BEGIN
            PERFORM pg_advisory_xact_lock({ADVISORY_LOCK_KEY});
            SELECT min(id) INTO first_new FROM new_entries;
            IF first_new IS NULL THEN
                RETURN NULL;
            END IF;
            SELECT max(id) INTO before_first FROM audit_entry WHERE id < first_new;
            SELECT EXISTS (
                SELECT 1 FROM (
                    SELECT id, prev_hash, lag(hash) OVER (ORDER BY id) AS previous
                    FROM audit_entry WHERE id >= COALESCE(before_first, first_new)
                ) chained
                WHERE id >= first_new AND prev_hash IS DISTINCT FROM COALESCE(previous, '{GENESIS}')
            ) INTO broken;
            IF broken THEN
                RAISE EXCEPTION '{CHAIN_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END
        $$""",
    "DROP TRIGGER IF EXISTS audit_entry_chain ON audit_entry",
    """CREATE TRIGGER audit_entry_chain AFTER INSERT ON audit_entry REFERENCING NEW TABLE AS new_entries
        FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_chain_guard()""",
]
_POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
    "DROP TRIGGER IF EXISTS audit_entry_chain ON audit_entry",
]


# Other apps' append-only guards (the ledger's), as `lifted`-style context managers taking a
# connection: a full wipe (`flush`) lifts them with the audit log's.
OTHER_GUARDS: list = []


def also_lift_on_wipe(guard) -> None:
    if guard not in OTHER_GUARDS:
        OTHER_GUARDS.append(guard)


GUARDS = TriggerSet("audit_entry", _SQLITE_INSTALL, _SQLITE_DROP, _POSTGRES_INSTALL, _POSTGRES_DROP)
install_sql, drop_sql = GUARDS.install_sql, GUARDS.drop_sql
install, drop, lifted = GUARDS.install, GUARDS.drop, GUARDS.lifted
