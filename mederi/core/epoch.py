"""Read and raise the security epoch (see `core.models.SecurityEpoch`).

On SQLite the counter is read with each request: an in-process primary-key lookup costs
microseconds. On PostgreSQL that round trip cost a fifth of read throughput, so each process
keeps a listener connection (`LISTEN mederi_security_epoch`) and `bump` sends a NOTIFY with the
change: PostgreSQL delivers it when the change commits, and the process moves its own
generation number then. Requests compare that number instead of asking the database. If the
listener is not connected, requests read the counter from the database as on SQLite.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.db import connection, transaction

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


def _running_listener() -> _Listener | None:
    global _listener
    if connection.vendor != "postgresql":
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


def current() -> int | tuple[int, int]:
    """A value that changes whenever the security epoch changes (once the change has committed):
    compare it with the one a cached decision was made under."""
    listener = _running_listener()
    if listener is not None:
        return listener.state()
    remembered = getattr(_request, "value", None)
    if remembered is not None:
        return remembered
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM core_security_epoch WHERE id = 1")
        row = cursor.fetchone()
    value = row[0] if row else 0
    if getattr(_request, "active", False) and not connection.in_atomic_block:  # a committed value only
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
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(row[0])])
        listener = _listener
        if listener is not None and listener.pid == os.getpid():
            # This process need not wait for its own notice: it knows the value when the change commits.
            transaction.on_commit(lambda: listener.saw(row[0]))
