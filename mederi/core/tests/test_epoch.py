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
