"""Helpers shared by the benchmark scripts: where things live and which database to use."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
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
    env["DJANGO_SETTINGS_MODULE"] = "mederi.settings"
    if engine == "sqlite":
        env["MEDERI_VAR_DIR"] = str(BENCH_DIR / "sqlite")
    else:
        env["DATABASE_URL"] = postgres_url
    return env


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
