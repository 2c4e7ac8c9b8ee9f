"""Time the import of the benchmark data set into a fresh database; report resources per second.

    .venv/bin/python benchmarks/bench_import.py                        # SQLite, all patients
    .venv/bin/python benchmarks/bench_import.py --patients 100         # a quick subset
    .venv/bin/python benchmarks/bench_import.py --postgres postgres://postgres@127.0.0.1:5432/mederi_bench

The import is the one `mederi import` runs (`mederi.fhir.services.import_paths`: one transaction
Bundle per file, every entry validated and indexed through the repository), run in this process so
that `--profile` can show where the time goes. The database is dropped and created first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH_DIR,
    DATASET,
    database_env,
    dataset_files,
    machine,
    recreate_postgres,
    sqlite_path,
)


def fresh_database(engine: str, postgres_url: str | None) -> None:
    if engine == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(sqlite_path()) + suffix).unlink(missing_ok=True)
        sqlite_path().parent.mkdir(parents=True, exist_ok=True)
    else:
        recreate_postgres(postgres_url)


def run(engine: str, postgres_url: str | None, patients: int | None, dataset: Path, profile: str | None,
        quiet: bool, jobs: int = 2) -> dict:
    fresh_database(engine, postgres_url)
    os.environ.update(database_env(engine, postgres_url))
    if engine == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from tqdm import tqdm

    from mederi.core.context import Context
    from mederi.fhir import services

    call_command("migrate", verbosity=0, interactive=False)
    files = dataset_files(dataset, patients)
    expected = sum(services.count_entries(f) for f in files)
    bar = tqdm(total=expected, unit="res", disable=quiet, file=sys.stderr, desc=f"import ({engine})")
    failures = []

    def on_file(path, report):
        bar.update(report.resources or services.count_entries(path))
        if report.error:
            failures.append(f"{path.name}: {report.error}")
            tqdm.write(f"FAILED {path.name}: {report.error}", file=sys.stderr)

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    report = services.import_paths(files, Context.system("benchmark import"), on_file=on_file, jobs=jobs)
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    bar.close()
    from mederi.fhir.models import Resource

    stored = Resource.objects.count()
    return {
        "engine": engine,
        "patients": len(files) - 2,
        "files": len(files),
        "resources": report.resources,
        "stored_resources": stored,
        "failed_files": len(failures),
        "seconds": round(elapsed, 2),
        "jobs": jobs,
        "resources_per_second": round(report.resources / elapsed, 1) if elapsed else None,
        "machine": machine(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="time the import of the benchmark data set")
    parser.add_argument("--patients", type=int, help="import only the first N patients of the data set")
    parser.add_argument("--postgres", metavar="URL", help="use this PostgreSQL database (dropped and recreated)")
    parser.add_argument("--dataset", default=str(DATASET))
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the import to FILE")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("--jobs", type=int, default=2, help="import worker processes (as `mederi import -j`)")
    parser.add_argument("--json", metavar="FILE", help="result file (default var/bench/import-<engine>.json)")
    args = parser.parse_args(argv)
    engine = "postgres" if args.postgres else "sqlite"
    result = run(engine, args.postgres, args.patients, Path(args.dataset), args.profile, args.quiet, args.jobs)
    import orjson

    out = Path(args.json) if args.json else BENCH_DIR / f"import-{engine}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"import ({engine}): {result['resources']} resources from {result['patients']} patients in "
          f"{result['seconds']} s = {result['resources_per_second']} resources/s"
          + (f"; {result['failed_files']} files FAILED" if result["failed_files"] else ""))
    return 1 if result["failed_files"] else 0


if __name__ == "__main__":
    sys.exit(main())
