"""Appending to the audit log.

`record` and `record_many` append entries inside the caller's transaction when there is one,
so a change to the record and the entry that describes it commit (or roll back) together.
Appends are serialised so two processes never chain from the same predecessor: PostgreSQL
takes a transaction-scoped advisory lock; SQLite connections open write transactions with
BEGIN IMMEDIATE (see settings), which already admits one writer at a time. A trigger backs this
up: a row that does not chain from the last entry is refused by the database (see triggers.py).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timezone

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from mederi.audit.chain import GENESIS, entry_hash
from mederi.audit.models import AuditEntry
from mederi.audit.triggers import ADVISORY_LOCK_KEY
from mederi.core import clock
from mederi.core.context import Context

OUTCOMES = ("success", "denied", "error", "not-found")

ACTIONS = frozenset({
    # the record
    "read", "vread", "search", "history", "everything", "create", "update", "patch", "delete",
    "transaction", "batch", "export", "import", "print", "download",
    # clinical documents; who co-signs a supervised clinician's notes
    "sign", "supervision-change",
    # clinical decision support: a card accepted or overridden (with the reason)
    "cds-feedback",
    # AI drafts: a person accepts or rejects a suggestion
    "ai-accept", "ai-reject",
    # the front-desk agent: a step it took on a patient's message; a person taking over, answering, handing back
    "ai-agent", "ai-takeover",
    # denial risk: a claim scored before it is sent; the model retrained on the remittance history
    "ai-risk", "ai-train",
    # interfaces: a refused HL7 message replayed or set aside, a lab connection changed
    "message-replay", "message-dismiss", "interface-change",
    # identity and access
    "login", "logout", "login-failed", "mfa-change", "password-change", "role-change", "client-change",
    "token-issue", "token-revoke", "emergency-access", "emergency-access-end",
    # the audit log itself
    "audit-read",
})


_LENGTHS = {f.name: f.max_length for f in AuditEntry._meta.get_fields() if getattr(f, "max_length", None)}

_INSERT_COLUMNS = (
    "recorded", "action", "outcome", "actor_user_id", "actor_name", "actor_role", "patient_id",
    "resource_type", "resource_ids", "query", "remote_addr", "purpose", "detail", "prev_hash", "hash",
)

_local = threading.local()


@dataclass(frozen=True)
class Event:
    """One thing to log; the actor, address and purpose come from the `Context`."""

    action: str
    outcome: str = "success"
    patient_id: str | None = None
    resource_type: str | None = None
    resource_ids: Iterable[str] | str = field(default=())
    query: str = ""
    detail: dict | None = None


def appended() -> int:
    """How many entries this thread has appended so far (lets a caller tell whether a call logged)."""
    return getattr(_local, "appended", 0)


def actor_name(context: Context) -> str:
    if context.user_name:
        return context.user_name
    if context.is_system:
        return f"system:{context.purpose}"
    if context.user_id is not None:
        return f"user:{context.user_id}"
    return "anonymous"


def _text(value, name: str) -> str:
    """A value the database stores and hands back unchanged, so the hash can be recomputed."""
    if value is None:
        return ""
    text = str(value)
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    limit = _LENGTHS.get(name)
    return text[:limit] if limit else text


def _ids_text(ids) -> str:
    if ids is None:
        return ""
    if isinstance(ids, str):
        return ids
    return " ".join(str(i) for i in ids if i)


def _values(context: Context, event: Event, moment) -> dict:
    if event.action not in ACTIONS:
        raise ValueError(f"'{event.action}' is not an audit action; known: {', '.join(sorted(ACTIONS))}")
    if event.outcome not in OUTCOMES:
        raise ValueError(f"'{event.outcome}' is not an audit outcome; use one of {', '.join(OUTCOMES)}")
    detail = ""
    if event.detail:
        detail = json.dumps(event.detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    patient_id = _text(event.patient_id, "patient_id") if event.patient_id else None
    actor = _actor_values(context.user_id, context.user_name, context.is_system, context.purpose, context.role,
                          context.remote_addr)
    if patient_id and patient_id in context.emergency_patients:  # under a break-the-glass grant: flagged
        actor = {**actor, "purpose": "emergency"}
    elif event.detail and event.detail.get("emergency_patients"):  # a search across several patients
        actor = {**actor, "purpose": "emergency"}
    return {
        "recorded": moment,
        "action": event.action,
        "outcome": event.outcome,
        **actor,
        "patient_id": patient_id,
        "resource_type": _text(event.resource_type, "resource_type"),
        "resource_ids": _text(_ids_text(event.resource_ids), "resource_ids"),
        "query": _text(event.query, "query"),
        "detail": _text(detail, "detail"),
    }


@functools.lru_cache(maxsize=1024)
def _actor_values(user_id, user_name, is_system, purpose, role, remote_addr) -> dict:
    """The columns that name who acted: the same for every request of one caller (so cached).
    Callers copy the dict before changing it."""
    context = Context(user_id=user_id, user_name=user_name, is_system=is_system, purpose=purpose)
    return {
        "actor_user_id": int(user_id) if user_id is not None else None,
        "actor_name": _text(actor_name(context), "actor_name"),
        "actor_role": _text(role or ("system" if is_system else ""), "actor_role"),
        "remote_addr": _text(remote_addr, "remote_addr"),
        "purpose": _text(purpose, "purpose"),
    }


_HEAD_SQL = "SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1"


def _lock_and_read_head(cursor, own_transaction: bool) -> str:
    """Take the append lock, then read the hash of the last entry (one round trip on PostgreSQL)."""
    vendor = connection.vendor
    if vendor == "postgresql":
        # Statements sent together still each take a fresh snapshot, so the head is read after
        # the lock is held. An entry alone in its transaction (a read) does not wait for its WAL
        # flush: SQLite's WAL + synchronous=NORMAL guarantee. A crash of the machine may lose the
        # last fraction of a second of such entries, never break the chain; entries written with
        # a change commit exactly as that change does.
        prefix = "SET LOCAL synchronous_commit TO OFF; " if own_transaction else ""
        cursor.execute(f"{prefix}SELECT pg_advisory_xact_lock({int(ADVISORY_LOCK_KEY)}); {_HEAD_SQL}")
        while cursor.description is None or cursor.description[0].name != "hash":
            cursor.nextset()
    elif vendor == "sqlite":  # the write transaction (BEGIN IMMEDIATE) is already exclusive
        cursor.execute(_HEAD_SQL)
    else:
        raise ImproperlyConfigured(f"the audit log supports SQLite and PostgreSQL, not {vendor}")
    head = cursor.fetchone()
    return head[0] if head else GENESIS


def _sqlite_time(moment) -> str:
    return str(moment.astimezone(timezone.utc).replace(tzinfo=None))


def _append(rows: list[dict], want_ids: bool = True) -> list[AuditEntry]:
    """Chain and insert prepared rows in the current transaction (or a new one).

    Without `want_ids` the rows go in one statement for all of them instead of one round trip
    each: a `COPY` on PostgreSQL (a third of the cost of a pipelined `executemany`), an
    `executemany` on SQLite (whose driver already runs it as one prepared statement).
    """
    quote = connection.ops.quote_name
    insert = (
        f"INSERT INTO audit_entry ({', '.join(quote(c) for c in _INSERT_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS))})"
    )
    # SQLite stores a datetime as naive UTC text, what Django's own adapter makes of it, but
    # without the adapter's time-zone checks (a fifth of the cost of a row).
    adapt = _sqlite_time if connection.vendor == "sqlite" else connection.ops.adapt_datetimefield_value
    entries = []
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        prev_hash = _lock_and_read_head(cursor, own_transaction)
        chained = []
        for values in rows:
            digest = entry_hash(prev_hash, values)
            chained.append((values, prev_hash, digest))
            prev_hash = digest
        params = [
            [adapt(values["recorded"])] + [values[c] for c in _INSERT_COLUMNS[1:-2]] + [previous, digest]
            for values, previous, digest in chained
        ]
        if want_ids:
            for (values, previous, digest), row in zip(chained, params):
                cursor.execute(insert + " RETURNING id", row)
                entries.append(AuditEntry(id=cursor.fetchone()[0], prev_hash=previous, hash=digest, **values))
        elif connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY audit_entry ({', '.join(_INSERT_COLUMNS)}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
        else:
            cursor.executemany(insert, params)
    return entries


class _ReadBuffer:
    """Entries logged outside any transaction (reads, searches) appended in batches.

    A read's entry is taken at the moment of access and appended by a background thread within
    `MEDERI_AUDIT_BUFFER_SECONDS` (default 0.5 s; sooner once 500 wait), many entries to one short transaction. A
    commit per read would otherwise halve read throughput. What is lost if the process is killed
    outright is at most that window of read entries; the chain itself never breaks, and entries
    of changes are never buffered: they commit with the change.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: list[dict] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = None

    def add(self, rows: list[dict]) -> None:
        with self._lock:
            self._rows.extend(rows)
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # a forked worker starts its own thread
                self._thread = threading.Thread(target=self._run, name="audit-buffer", daemon=True)
                self._thread.start()
            if len(self._rows) >= 500:
                self._wake.set()

    def _run(self) -> None:
        while True:
            interval = settings.MEDERI_AUDIT_BUFFER_SECONDS
            if interval <= 0:  # buffering was switched off: hand over what is left and stop
                self.flush()
                connection.close()
                return
            self._wake.wait(interval)
            self._wake.clear()
            if not self.flush():
                connection.close()  # idle: give the database connection back until reads resume

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            _append(rows, want_ids=False)
        return len(rows)


_buffer = _ReadBuffer()
atexit.register(_buffer.flush)


def flush_buffered() -> None:
    """Append buffered read entries now (before a verify, at shutdown, in tests)."""
    _buffer.flush()


def record_many(context: Context, events: list[Event], *, want_entries: bool = True) -> list[AuditEntry]:
    """Append `events` in order, chained: in the caller's transaction when there is one, and
    then return the stored entries (none without `want_entries`: the rows then go in one statement);
    otherwise hand them to the read buffer and return none (they are appended within the buffer's
    window, or at once by `flush_buffered`)."""
    if not events or settings.MEDERI_UNSAFE_NO_SECURITY:  # benchmarks only, see settings.py
        return []
    moment = clock.now()
    rows = [_values(context, event, moment) for event in events]
    _local.appended = appended() + len(rows)
    if connection.in_atomic_block or settings.MEDERI_AUDIT_BUFFER_SECONDS <= 0:
        return _append(rows, want_ids=want_entries)
    _buffer.add(rows)
    return []


def record(context: Context, action: str, outcome: str = "success", *, patient_id: str | None = None,
           resource_type: str | None = None, resource_ids: Iterable[str] | str = (), query: str = "",
           detail: dict | None = None) -> AuditEntry | None:
    """Append one entry: who (from `context`) did `action` with `outcome` to what."""
    event = Event(action, outcome, patient_id, resource_type, resource_ids, query, detail)
    entries = record_many(context, [event])
    return entries[0] if entries else None


def record_writes(context: Context, writes: list[tuple[str, str, str | None]]) -> None:
    """Log the writes of one flush: (action, "Type/id", patient id) each.

    Writes with the same action and patient share one entry listing their ids, so an imported
    patient file of 500 resources adds a handful of entries, not 500. The entries go in one
    statement (an 835 touching a thousand patients made a round trip for each).
    """
    groups: dict[tuple[str, str | None], list[str]] = {}
    for action, reference, patient_id in writes:
        groups.setdefault((action, patient_id), []).append(reference)
    events = []
    for (action, patient_id), references in groups.items():
        types = {r.split("/", 1)[0] for r in references}
        events.append(Event(action, "success", patient_id, types.pop() if len(types) == 1 else None, references))
    record_many(context, events, want_entries=False)


# -- whose data ---------------------------------------------------------------------------------

# Elements that name the patient a resource is about (Observation.subject, Coverage.beneficiary,
# AllergyIntolerance.patient, ...). Writes use the full R4 Patient compartment instead.
PATIENT_ELEMENTS = ("patient", "subject", "beneficiary")


def patient_from_reference(reference) -> str | None:
    """"Patient/123", "https://x/fhir/Patient/123/_history/2" -> "123"."""
    if not isinstance(reference, str) or "Patient/" not in reference:
        return None
    parts = reference.split("/_history/", 1)[0].split("/")
    if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1]:
        return parts[-1]
    return None


_PATIENT_REFERENCE = re.compile(
    r'"(?:patient|subject|beneficiary)":\[?\{[^{}]*?"reference":"(?:[^"]*/)?Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^"]*)?"'
)


def patient_in_content(content: str) -> str | None:
    """`patient_of` for stored JSON text, without parsing it (this runs on every read).

    Stored content is compact JSON, so the common shapes (`"subject":{"reference":"Patient/1"}`)
    are found by a pattern; anything else falls back to parsing.
    """
    if "Patient/" not in content:
        return None
    match = _PATIENT_REFERENCE.search(content)
    if match:
        return match.group(1)
    return patient_of(json.loads(content))


def patient_of(resource) -> str | None:
    """The logical id of the patient a resource (parsed JSON) is about, when it names one."""
    if not isinstance(resource, dict):
        return None
    if resource.get("resourceType") == "Patient":
        return resource.get("id") if isinstance(resource.get("id"), str) else None
    for name in PATIENT_ELEMENTS:
        value = resource.get(name)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, dict):
                found = patient_from_reference(item.get("reference"))
                if found:
                    return found
    return None
