"""Run the whole benchmark set and print one table.

    .venv/bin/python benchmarks/make_dataset.py --patients 1000
    .venv/bin/python benchmarks/run_all.py                                  # SQLite only
    .venv/bin/python benchmarks/run_all.py --postgres postgres://postgres@127.0.0.1:5432/mederi_bench

For each database: a fresh import of the data set (bench_import.py), then the HTTP load
(bench_http.py) against the imported database, then read and search with security on and off
(bench_security.py). Results go to var/bench/*.json and
var/bench/summary.json. The PostgreSQL database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, DATASET, PYTHON, ROOT, drop_postgres, load_manifest, machine  # noqa: E402

HERE = Path(__file__).resolve().parent

# (label, how to read it from the import, HTTP and security results, target, published reference)
ROWS = [
    ("import, resources/s", lambda i, h, s: i["resources_per_second"], ">= 3000", "HAPI ~2,214; Medplum ~764 (8 vCPU)"),
    ("ping (no database), req/s", lambda i, h, s: h["endpoints"]["ping"]["requests_per_second"], "ceiling", ""),
    ("read by id, req/s", lambda i, h, s: h["endpoints"]["read"]["requests_per_second"], ">= 1500", ""),
    ("read / ping", lambda i, h, s: h["endpoints"]["read"].get("ratio_to_ping"), ">= 0.6", ""),
    ("read p99 ms", lambda i, h, s: h["endpoints"]["read"]["latency_ms"].get("p99"), "", ""),
    ("search patient+code (~20 hits), req/s", lambda i, h, s: h["endpoints"]["search"]["requests_per_second"],
     ">= 400", ""),
    ("search p99 ms", lambda i, h, s: h["endpoints"]["search"]["latency_ms"].get("p99"), "", ""),
    ("create Observation, req/s", lambda i, h, s: h["endpoints"]["create"]["requests_per_second"], ">= 400", ""),
    ("create p99 ms", lambda i, h, s: h["endpoints"]["create"]["latency_ms"].get("p99"), "", ""),
    ("Patient/$everything (largest), median ms", lambda i, h, s: h["everything"]["median_ms"], "< 1000", ""),
    ("read, security off (median), req/s", lambda i, h, s: s["median"]["off"]["read"], "", ""),
    ("read, cost of security, %", lambda i, h, s: s["cost_percent"]["read"], "<= 15", ""),
    ("search, security off (median), req/s", lambda i, h, s: s["median"]["off"]["search"], "", ""),
    ("search, cost of security, %", lambda i, h, s: s["cost_percent"]["search"], "<= 15", ""),
]


def step(args: list[str], fatal: bool = True) -> None:
    print("$ " + " ".join(args), flush=True)
    done = subprocess.run(args, cwd=ROOT)
    if done.returncode != 0:
        if fatal:
            sys.exit(f"error: step failed ({done.returncode}): {' '.join(args)}")
        print(f"WARNING: some requests failed or timed out (exit {done.returncode}); see the result file",
              flush=True)


def run_engine(engine: str, url: str | None, options) -> tuple[dict, dict, dict]:
    db = ["--postgres", url] if url else []
    import_json = BENCH_DIR / f"import-{engine}.json"
    http_json = BENCH_DIR / f"http-{engine}.json"
    security_json = BENCH_DIR / f"security-{engine}.json"
    if not options.skip_import:
        patients = ["--patients", str(options.patients)] if options.patients else []
        step([PYTHON, str(HERE / "bench_import.py"), *db, *patients, "--json", str(import_json)])
    step([PYTHON, str(HERE / "bench_http.py"), *db, "--duration", str(options.duration),
          "--json", str(http_json)], fatal=False)
    step([PYTHON, str(HERE / "bench_security.py"), *db, "--duration", str(options.duration),
          "--json", str(security_json)], fatal=False)
    return (orjson.loads(import_json.read_bytes()), orjson.loads(http_json.read_bytes()),
            orjson.loads(security_json.read_bytes()))


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 10 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(results: dict[str, tuple[dict, dict, dict]]) -> str:
    engines = list(results)
    header = ["measure", "target", *engines, "published"]
    lines = [header]
    for label, read, target, published in ROWS:
        lines.append([label, target, *(fmt(read(*results[e])) for e in engines), published])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = []
    for number, row in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
        if number == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="run every benchmark and print a table")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database (recreated)")
    parser.add_argument("--patients", type=int, help="import only the first N patients of the data set")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of wrk load per endpoint")
    parser.add_argument("--skip-import", action="store_true", help="reuse the databases already imported")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    options = parser.parse_args(argv)
    manifest = load_manifest(DATASET)
    started = time.time()
    results = {"sqlite": run_engine("sqlite", None, options)}
    if options.postgres:
        try:
            results["postgres"] = run_engine("postgres", options.postgres, options)
        finally:
            if not options.keep:
                drop_postgres(options.postgres)
    print()
    print(f"data set: {len(manifest['patients'])} patients (seed {manifest['seed']}); "
          f"imported: {results['sqlite'][0]['patients']} patients, {results['sqlite'][0]['resources']} resources")
    print(table(results))
    summary = {"machine": machine(), "minutes": round((time.time() - started) / 60, 1),
               "results": {e: {"import": i, "http": h, "security": s} for e, (i, h, s) in results.items()}}
    (BENCH_DIR / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
