"""Read entries waiting in a worker's buffer are appended when the server stops normally."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import requests
from django.db import connection

from mederi.scheduling.tests.test_concurrency import running_server


def _read_entries(env: dict) -> int:
    """Read entries of Patient/pat-a in the server's database."""
    query = "SELECT COUNT(*) FROM audit_entry WHERE action = 'read' AND patient_id = 'pat-a'"
    if connection.vendor == "sqlite":
        with sqlite3.connect(Path(env["MEDERI_VAR_DIR"]) / "mederi.sqlite3") as database:
            return database.execute(query).fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_normal_stop_appends_the_read_entries_still_waiting(tmp_path):
    # A ten-minute window: within this test, an entry can only reach the log by the stop's flush (with ten
    # seconds, a cold worker on a busy machine served the reads slowly enough for its timer to flush first).
    with running_server(tmp_path, audit_buffer_seconds="600") as (base, seeded, env):
        browser = requests.Session()
        browser.cookies.set("sessionid", seeded["sessions"][0], domain="127.0.0.1")
        for _ in range(3):
            page = browser.get(f"{base}/patients/pat-a/", timeout=30)
            assert page.status_code == 200
        assert _read_entries(env) == 0  # still in the workers' buffers
    # Leaving `running_server` sends gunicorn SIGTERM, its normal stop: each worker appends what waits.
    assert _read_entries(env) == 3
