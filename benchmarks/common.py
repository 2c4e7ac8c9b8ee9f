"""Helpers shared by the benchmark scripts: where things live and which database to use."""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import orjson

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DATASET = BENCH_DIR / "dataset"
PYTHON = sys.executable


def load_manifest(dataset: Path = DATASET) -> dict:
    path = dataset / "manifest.json.txt"
    if not path.exists():
        sys.exit(f"error: no data set in {dataset}; run benchmarks/make_dataset.py first")
    return orjson.loads(path.read_bytes())


def dataset_files(dataset: Path, patients: int | None) -> list[Path]:
    """The shared hospital/practitioner files first, then the first `patients` patient bundles."""
    manifest = load_manifest(dataset)
    chosen = manifest["patients"][:patients] if patients else manifest["patients"]
    return [dataset / name for name in manifest["shared"]] + [dataset / p["file"] for p in chosen]


def database_env(engine: str, postgres_url: str | None = None) -> dict:
    """Environment for a process that uses the benchmark database of `engine`."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("MEDERI_UNSAFE_NO_SECURITY", None)  # measure the secured API unless a script asks otherwise
    env["DJANGO_SETTINGS_MODULE"] = "mederi.settings"
    if engine == "sqlite":
        env["MEDERI_VAR_DIR"] = str(BENCH_DIR / "sqlite")
    else:
        env["DATABASE_URL"] = postgres_url
    return env


BENCH_USER = "bench"
BENCH_ROLE = "bench-all"


def bench_token(env: dict, hours: float = 12.0) -> str:
    """A bearer token of the staff account `bench`, which holds every permission.

    Django must already be set up for the benchmark database (`bench_http.pick_targets` does it);
    `env` is that database's environment (`database_env`) for the `mederi token` that issues it.
    The account has no usable password: it exists only to be given tokens.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection

    from mederi.accounts import services
    from mederi.accounts.models import Profile, Role
    from mederi.accounts.permissions import all_permissions

    services.ensure_default_roles()
    role = Role.objects.filter(slug=BENCH_ROLE).first()
    if role is None:
        services.create_role(BENCH_ROLE, "Benchmark", all_permissions())
    else:
        services.update_role(role, all_permissions())
    user, created = get_user_model().objects.get_or_create(username=BENCH_USER, defaults={"first_name": "Benchmark"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        Profile.objects.create(user=user, kind=Profile.STAFF, full_name="Benchmark", mfa_required=False)
    services.assign_role(user, BENCH_ROLE)
    connection.close()
    done = subprocess.run([PYTHON, "-m", "mederi", "token", BENCH_USER, "--hours", f"{hours:g}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    lines = done.stdout.split()
    if done.returncode != 0 or not lines:
        sys.exit(f"error: `mederi token {BENCH_USER}` failed: {done.stderr.strip() or done.stdout.strip()}")
    return lines[-1]


def sqlite_path() -> Path:
    return BENCH_DIR / "sqlite" / "mederi.sqlite3"


def recreate_postgres(url: str) -> None:
    """Drop and create the database named in `url` (connecting to the server's `postgres` db)."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if not name or name == "postgres":
        sys.exit("error: give the benchmark its own database name, e.g. postgres://postgres@127.0.0.1/mederi_bench")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_postgres(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    postgres = ""
    try:
        postgres = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import sqlite3

    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()], "cpu": cpu, "memory": memory, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "postgres_client": postgres, "platform": platform.platform()}


def timed(call, runs: int, warmup: int = 2) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of `runs` calls of `call(index)`, after `warmup` calls that fill caches."""
    for index in range(warmup):
        call(index)
    wall, cpu = [], []
    for index in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        call(index)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def summary_ms(samples: list[float], digits: int = 1) -> dict:
    """Median, p95 (nearest rank), min and max of timings in milliseconds."""
    ordered = sorted(samples)
    return {"runs": len(ordered), "median_ms": round(statistics.median(ordered), digits),
            "p95_ms": round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], digits),
            "min_ms": round(ordered[0], digits), "max_ms": round(ordered[-1], digits)}


def staff_user(username: str, full_name: str, role: str = "front_desk"):
    """A staff account with one of the shipped roles, made in the benchmark database if missing."""
    from django.contrib.auth import get_user_model

    from mederi.accounts import services
    from mederi.accounts.models import Profile

    services.ensure_default_roles()
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"first_name": "Bench"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        Profile.objects.create(user=user, kind=Profile.STAFF, full_name=full_name, mfa_required=False)
    services.assign_role(user, role)
    return user


def fresh_database(name: str, postgres_url: str | None = None) -> str:
    """Set Django up on an empty, migrated benchmark database and return its engine name.

    PostgreSQL: the database in `postgres_url` is dropped and created again. SQLite: the database
    under var/bench/<name>/ is deleted first. The audit buffer keeps its production setting.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = "mederi.settings"
    os.environ.setdefault("MEDERI_AUDIT_BUFFER_SECONDS", "0.05")
    if postgres_url:
        recreate_postgres(postgres_url)
        os.environ["DATABASE_URL"] = postgres_url
    else:
        os.environ.pop("DATABASE_URL", None)
        folder = BENCH_DIR / name
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("mederi.sqlite3*"):
            stale.unlink()
        os.environ["MEDERI_VAR_DIR"] = str(folder)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return "postgresql" if postgres_url else "sqlite"
