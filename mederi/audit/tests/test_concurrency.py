"""Two writers appending at the same moment leave one unbroken chain, never a fork."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections

from mederi.audit import services
from mederi.audit.models import AuditEntry
from mederi.audit.selectors import verify_chain
from mederi.core.context import Context

PER_WRITER = 50

_WORKER = """
import os, sys, time, pathlib
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")
import django
django.setup()
from mederi.audit import services
from mederi.core.context import Context
go, name = pathlib.Path(sys.argv[1]), sys.argv[2]
pathlib.Path(f"{go}.{name}").touch()
while not go.exists():
    time.sleep(0.005)
for i in range(int(sys.argv[3])):
    services.record(Context(user_name=name), "read", resource_ids=[f"Patient/{name}-{i}"])
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need separate server connections")
def test_two_threads_appending_at_once_leave_an_intact_chain(transactional_db):
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(PER_WRITER):
                services.record(Context(user_name=name), "read", resource_ids=[f"Patient/{name}-{i}"])
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("front.desk", "dr.okafor")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify_chain()
    assert str(result) == f"audit log intact: {2 * PER_WRITER} entries"
    names = list(AuditEntry.objects.order_by("id").values_list("actor_name", flat=True))
    assert sorted(set(names)) == ["dr.okafor", "front.desk"]


def _database_env(tmp_path: Path, request) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDERI_VAR_DIR")}
    if connection.vendor == "sqlite":
        env["MEDERI_VAR_DIR"] = str(tmp_path / "var")  # a file database every process can open
        migrate = subprocess.run([sys.executable, "-m", "mederi", "migrate"], env=env, capture_output=True, text=True,
                                 timeout=300)
        assert migrate.returncode == 0, migrate.stderr
    else:
        request.getfixturevalue("transactional_db")  # the test database, committed and shared
        db = connection.settings_dict
        env["DATABASE_URL"] = (f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                               f"{db['NAME']}")
    return env


def test_two_processes_appending_at_once_leave_an_intact_chain(tmp_path, request):
    env = _database_env(tmp_path, request)
    before = _entries_in_log(env)  # what migrate wrote (the shipped note templates)
    go = tmp_path / "go"
    names = ("import-a", "import-b")
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(go), name, str(PER_WRITER)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in names]
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.{name}").exists() for name in names):
        assert time.monotonic() < deadline, "the writers did not start"
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        time.sleep(0.01)
    go.touch()  # both are ready: let them race
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr
    assert _entries_in_log(env) == before + 2 * PER_WRITER


def _entries_in_log(env: dict) -> int:
    """How many entries `mederi audit verify` finds, after checking the chain is intact."""
    verify = subprocess.run([sys.executable, "-m", "mederi", "audit", "verify"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    first = verify.stdout.splitlines()[0]
    assert first.startswith("audit log intact: ") and first.endswith(" entries"), first
    return int(first.removeprefix("audit log intact: ").removesuffix(" entries"))
