"""The security epoch moves with every committed change to who may reach what, in every process."""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction

from mederi.core import epoch

pytestmark = pytest.mark.django_db(transaction=True)


def _moves_from(before: int, wait: float = 5.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if epoch.current() != before:
            return True
        time.sleep(0.01)
    return False


def test_a_committed_bump_moves_the_epoch_and_a_rolled_back_one_does_not():
    before = epoch.current()
    with transaction.atomic():
        epoch.bump()
    assert epoch.current() != before
    settled = epoch.current()

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        epoch.bump()
        raise Undo()
    assert epoch.current() == settled


@pytest.mark.skipif(connection.vendor != "postgresql", reason="other processes are told through LISTEN/NOTIFY")
def test_a_change_committed_by_another_process_reaches_this_one():
    import psycopg

    epoch.bump()  # the row exists (a transactional test's flush empties every table)
    before = epoch.current()
    assert epoch._running_listener() is not None  # requests are not asking the database each time
    with psycopg.connect(epoch._connection_string(), autocommit=True) as other:  # another worker, say
        value = other.execute("UPDATE core_security_epoch SET value = value + 1 WHERE id = 1 RETURNING value"
                              ).fetchone()[0]
        other.execute("SELECT pg_notify(%s, %s)", [epoch.CHANNEL, str(value)])
    assert _moves_from(before)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite processes are told through a stamp file")
def test_on_sqlite_a_committed_bump_rewrites_the_stamp_other_processes_read(settings, tmp_path):
    settings.MEDERI_EPOCH_STAMP = str(tmp_path / "mederi.sqlite3.epoch")
    stamp = tmp_path / "mederi.sqlite3.epoch"
    epoch.bump()
    before = epoch.current()
    laid_down = stamp.read_bytes()

    with transaction.atomic():
        epoch.bump()
        assert stamp.read_bytes() == laid_down  # not before the change commits
    assert stamp.read_bytes() != laid_down
    assert epoch.current() != before

    class Undo(Exception):
        pass

    settled, written = epoch.current(), stamp.read_bytes()
    with pytest.raises(Undo), transaction.atomic():
        epoch.bump()
        raise Undo()
    assert (epoch.current(), stamp.read_bytes()) == (settled, written)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite processes are told through a stamp file")
def test_on_sqlite_a_change_whose_stamp_was_never_written_is_still_seen_within_a_second(settings, tmp_path):
    settings.MEDERI_EPOCH_STAMP = str(tmp_path / "mederi.sqlite3.epoch")
    epoch.bump()
    before = epoch.current()
    with connection.cursor() as cursor:  # a process that died after its commit, before its stamp
        cursor.execute("UPDATE core_security_epoch SET value = value + 1 WHERE id = 1")
    assert _moves_from(before, wait=3.0)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite processes are told through a stamp file")
def test_on_sqlite_a_stamp_rewritten_by_another_process_is_seen_at_once(settings, tmp_path, monkeypatch):
    settings.MEDERI_EPOCH_STAMP = str(tmp_path / "mederi.sqlite3.epoch")
    monkeypatch.setattr(epoch._Stamp, "RECHECK_SECONDS", 3600.0)  # only the stamp can tell this process
    epoch.bump()
    before = epoch.current()
    with connection.cursor() as cursor:  # another process commits a change...
        cursor.execute("UPDATE core_security_epoch SET value = value + 1 WHERE id = 1 RETURNING value")
        value = cursor.fetchone()[0]
    assert epoch.current() == before
    epoch._write_stamp(tmp_path / "mederi.sqlite3.epoch", value)  # ...and then rewrites the stamp
    assert epoch.current() != before
