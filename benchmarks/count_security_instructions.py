"""Instructions per FHIR read with security on and off, counted by callgrind: unlike throughput,
the count does not move with whatever else the machine is doing.

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=var/bench/cg.full \\
        env CALLGRIND=1 VARIANT=full .venv/bin/python benchmarks/count_security_instructions.py
    callgrind_annotate var/bench/cg.full | grep "PROGRAM TOTALS"

VARIANT (one process each; divide the total by --reads):
  full      security on, as served
  nowriter  security on, but buffered audit rows are dropped instead of appended (the writer's share)
  noaudit   security on, no audit entry at all (the entry's preparation in the request)
  off       MEDERI_UNSAFE_NO_SECURITY (no token lookup, no checks, no audit)

It reads the SQLite database of bench_import.py, calls the WSGI handler directly with the bearer
token of the `bench` account, and appends buffered audit rows every 50 reads, about the batch size
of the background writer at full load. Counting is switched on only for the measured reads.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bench_token, database_env  # noqa: E402

VARIANTS = ("full", "nowriter", "noaudit", "off")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    variant = os.environ.get("VARIANT", "full")
    if variant not in VARIANTS:
        sys.exit(f"error: VARIANT must be one of {', '.join(VARIANTS)}")
    env = database_env("sqlite")
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from mederi.audit import services as audit

    with connection.cursor() as cursor:
        cursor.execute("SELECT resource_type, logical_id FROM fhir_resource WHERE deleted = %s AND id %% 97 = 3 "
                       "ORDER BY id LIMIT %s", [False, args.reads + 20])
        paths = [f"/fhir/R4/{t}/{i}" for t, i in cursor.fetchall()]
    if len(paths) < args.reads + 20:
        sys.exit("error: the benchmark database is too small; run benchmarks/bench_import.py first")
    token = bench_token(env)
    handler = WSGIHandler()
    settings.MEDERI_UNSAFE_NO_SECURITY = variant == "off"
    settings.MEDERI_AUDIT_BUFFER_SECONDS = 10**6  # appended below, every 50 reads, in this thread
    if variant == "noaudit":
        audit.record_many = lambda context, events: []
    elif variant == "nowriter":
        audit._buffer.add = lambda rows: None

    def read(path: str) -> None:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
                   "SERVER_PORT": "8000", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
                   "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_HOST": "localhost"}
        status = []
        b"".join(handler(environ, lambda line, headers, exc_info=None: status.append(line)))
        if not status[0].startswith("200"):
            sys.exit(f"error: {path} answered {status[0]}")

    def counting(on: bool) -> None:
        if os.environ.get("CALLGRIND"):
            subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], check=True,
                           capture_output=True)

    for path in paths[:20]:  # warm-up: caches, the token's context, the first audit batch
        read(path)
    audit.flush_buffered()
    counting(True)
    for number, path in enumerate(paths[20:], 1):
        read(path)
        if number % 50 == 0:
            audit.flush_buffered()
    audit.flush_buffered()
    counting(False)
    print(f"{variant}: {args.reads} reads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
