"""Read and raise the security epoch (see `core.models.SecurityEpoch`).

Every request asks whether the epoch moved, so asking must be cheap.

- PostgreSQL: a round trip cost a fifth of read throughput, so each process keeps a listener
  connection (`LISTEN mederi_security_epoch`) and `bump` sends a NOTIFY with the change:
  PostgreSQL delivers it when the change commits, and the process moves its own generation
  number then. If the listener is not connected, requests read the counter from the database.
- SQLite: all processes share one machine and one database file, so a bump also rewrites a
  small stamp file beside it when the change commits (`<database>.epoch`), by writing a new
  file and renaming it over the old one. Requests `stat` the file (its inode, time and size
  change with every rewrite: a microsecond or two, against some 35 for a query through Django,
  and a fraction of opening and reading it), and read the counter itself at most once a second,
  so a process that died between its commit and its stamp, or two rewrites the stat cannot tell
  apart, delay others by a second at most. An in-memory database (tests) has no file: the
  counter is read once per request.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from mederi.core.models import SecurityEpoch

CHANNEL = "mederi_security_epoch"
_log = logging.getLogger(__name__)


class _Listener:
    """A thread holding a PostgreSQL connection that waits for NOTIFYs of the security epoch.

    Each notice carries the new value, and the process's own commits report theirs too, so the
    notice of a change this process made finds the value already there. Values are taken as they
    come, not the highest: after a restore from a backup the counter goes back, and a cache
    keyed to a value seen earlier is dropped on any change anyway.
    """

    def __init__(self):
        self.value = -1
        self.connects = 0  # a reconnection may have missed notices: it changes the state too
        self.ready = threading.Event()  # set while LISTEN is in force
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._dsn = _connection_string()
        threading.Thread(target=self._run, name="mederi-epoch-listener", daemon=True).start()

    def saw(self, value: int) -> None:
        with self._lock:
            self.value = value

    def state(self) -> tuple[int, int]:
        return self.value, self.connects

    def _run(self) -> None:
        import psycopg

        while True:
            try:
                with psycopg.connect(self._dsn, autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    row = listener.execute("SELECT value FROM core_security_epoch WHERE id = 1").fetchone()
                    with self._lock:
                        self.connects += 1
                    self.saw(row[0] if row else 0)
                    self.ready.set()
                    for notice in listener.notifies():
                        self.saw(int(notice.payload or 0))
            except Exception:  # the database went away: fall back to reading, and try again
                _log.warning("security epoch listener lost its connection; retrying", exc_info=True)
            self.ready.clear()
            time.sleep(1)


def _connection_string() -> str:
    from psycopg.conninfo import make_conninfo

    params = connection.get_connection_params()
    keep = {k: v for k, v in params.items()
            if k in ("host", "port", "dbname", "user", "password", "sslmode") and v not in (None, "")}
    return make_conninfo(**keep)


_listener: _Listener | None = None
_listener_lock = threading.Lock()


def _running_listener(database=None) -> _Listener | None:
    global _listener
    if (database or connection).vendor != "postgresql":
        return None
    listener = _listener
    if listener is None or listener.pid != os.getpid():  # a forked worker starts its own
        with _listener_lock:
            if _listener is None or _listener.pid != os.getpid():
                _listener = _Listener()
                _listener.ready.wait(timeout=2)
            listener = _listener
    return listener if listener.ready.is_set() else None


_request = threading.local()  # the value read once per request (see `request_started`)


def request_started(**_signal) -> None:
    """Connected to Django's request signals: the counter is read at most once per request."""
    _request.value = None
    _request.active = True


def request_finished(**_signal) -> None:
    _request.value = None
    _request.active = False


def _stamp_path(database=None) -> Path | None:
    """The SQLite database's stamp file; None for PostgreSQL and in-memory databases."""
    database = database or connection
    return _stamp_path_for(getattr(settings, "MEDERI_EPOCH_STAMP", None) or "", database.vendor,
                           str(database.settings_dict.get("NAME") or ""))


@functools.lru_cache(maxsize=8)
def _stamp_path_for(explicit: str, vendor: str, name: str) -> Path | None:
    if explicit:
        return Path(explicit)
    if vendor != "sqlite" or not name or ":memory:" in name or "mode=memory" in name:
        return None
    return Path(name + ".epoch")


def _write_stamp(path: Path, value: int) -> None:
    """Replace the stamp with new content (never the same twice), atomically."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_text(f"{value} {secrets.token_hex(8)}")
    os.replace(temporary, path)


def _read_counter() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM core_security_epoch WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else 0


class _Stamp:
    """What this process last saw of the stamp file and the counter."""

    RECHECK_SECONDS = 1.0

    def __init__(self):
        self.content = None
        self.value = None
        self.read_at = 0.0

    def state(self, path: Path) -> tuple[tuple, int]:
        content = _stat_key(path)
        moment = time.monotonic()
        if content != self.content or self.value is None or moment - self.read_at >= self.RECHECK_SECONDS:
            value = _read_counter()
            if content is None:  # the first process on this database lays the stamp down
                _write_stamp(path, value)
                content = _stat_key(path)
            self.content, self.value, self.read_at = content, value, moment
        return self.content, self.value


def _stat_key(path: Path) -> tuple | None:
    """What tells one version of the stamp file from the next (each is a new file renamed in)."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_ctime_ns, found.st_size


_stamp = _Stamp()


def current() -> int | tuple:
    """A value that changes whenever the security epoch changes (once the change has committed):
    compare it with the one a cached decision was made under."""
    # One lookup of the connection: each use of the `connection` proxy costs a thread-local lookup,
    # and this runs on every request.
    database = connections[DEFAULT_DB_ALIAS]
    listener = _running_listener(database)
    if listener is not None:
        return listener.state()
    remembered = getattr(_request, "value", None)
    if remembered is not None:
        return remembered
    committed = not database.in_atomic_block
    path = _stamp_path(database) if committed else None
    value = _stamp.state(path) if path is not None else _read_counter()
    if getattr(_request, "active", False) and committed:  # a committed value only
        _request.value = value
    return value


def bump() -> None:
    """Call inside the transaction of the change: readers see the new value when it commits."""
    _request.value = None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_security_epoch SET value = value + 1 WHERE id = 1 RETURNING value")
        row = cursor.fetchone()
    if row is None:
        SecurityEpoch.objects.get_or_create(pk=1, defaults={"value": 1})
        row = (1,)
    path = _stamp_path()
    if path is not None:
        transaction.on_commit(lambda: _write_stamp(path, row[0]))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(row[0])])
        listener = _listener
        if listener is not None and listener.pid == os.getpid():
            # This process need not wait for its own notice: it knows the value when the change commits.
            transaction.on_commit(lambda: listener.saw(row[0]))
