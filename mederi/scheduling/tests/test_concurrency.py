"""Two front-desk staff book the same time at the same moment: exactly one succeeds.

A real server (gunicorn, two worker processes) answers real HTTP requests sent from two threads
released together. On PostgreSQL it uses the test database (committed, `transactional_db`); on
SQLite a file database in a temporary folder, since the test run's in-memory database cannot be
shared with other processes (pytest-django's `live_server` would share one connection between
its threads, which is no race at all).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from django.db import connection

ROUNDS = ("09:00", "10:30", "14:15")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(env: dict, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "mederi.scheduling.tests.race_setup", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def running_server(tmp_path, audit_buffer_seconds: str = "0"):
    """`mederi serve` (gunicorn, two workers) on the practice `race_setup seed` makes: (base URL, seed, env)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDERI_VAR_DIR")}
    env["MEDERI_AUDIT_BUFFER_SECONDS"] = audit_buffer_seconds
    if connection.vendor == "sqlite":
        env["MEDERI_VAR_DIR"] = str(tmp_path / "var")
        migrate = subprocess.run([sys.executable, "-m", "mederi", "migrate"], env=env, capture_output=True, text=True,
                                 timeout=300)
        assert migrate.returncode == 0, migrate.stderr
    else:  # the test database, committed (transaction=True) and reachable by other processes
        db = connection.settings_dict
        env["DATABASE_URL"] = (f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                               f"{db['NAME']}")
    seeded = _run(env, "seed")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "mederi", "serve", "--no-worker", "--workers", "2",
                               "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, server.stderr.read()
        try:
            requests.get(f"{base}/accounts/login/", timeout=10)
            break
        except requests.RequestException:  # not listening yet, or still loading the app
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
    try:
        yield base, seeded, env
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture
def booking_server(tmp_path):
    with running_server(tmp_path) as running:
        yield running


def _prepared(base: str, session_key: str) -> tuple[requests.Session, str]:
    """A signed-in browser session holding the booking form's CSRF token."""
    browser = requests.Session()
    browser.cookies.set("sessionid", session_key, domain="127.0.0.1")
    page = browser.get(f"{base}/schedule/book/", timeout=30)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return browser, token


@pytest.mark.django_db(transaction=True)
def test_two_people_booking_the_same_time_at_once_get_one_booking(booking_server):
    base, seeded, env = booking_server
    browsers = [_prepared(base, key) for key in seeded["sessions"]]
    for clock in ROUNDS:
        start = threading.Barrier(len(browsers))
        answers: list = [None] * len(browsers)

        def book(index: int, patient: str, clock=clock, start=start, answers=answers) -> None:
            browser, token = browsers[index]
            form = {"csrfmiddlewaretoken": token, "patient_id": patient, "practitioner_id": "dr-ruiz",
                    "location_id": "clinic-main", "type_code": "fu", "date": seeded["day"], "time": clock}
            start.wait()
            answers[index] = browser.post(f"{base}/schedule/book/", data=form, allow_redirects=False, timeout=60)

        threads = [threading.Thread(target=book, args=(i, patient)) for i, patient in enumerate(("pat-a", "pat-b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(a.status_code for a in answers) == [302, 409], [a.text[:300] for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert (f"That time was just booked by someone else: {clock} with Dr Ruiz. Choose another time."
                in refused.text)
    assert _run(env, "count", seeded["day"]) == {clock: 1 for clock in ROUNDS}
