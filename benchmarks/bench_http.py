"""HTTP throughput of the FHIR API, driven by wrk against `mederi serve --workers 2`.

    .venv/bin/python benchmarks/bench_http.py                # SQLite database of bench_import.py
    .venv/bin/python benchmarks/bench_http.py --postgres postgres://postgres@127.0.0.1:5432/mederi_bench

It expects the database imported by bench_import.py (same --postgres URL, or the SQLite file under
var/bench/sqlite/). It starts the server (gunicorn, 2 sync workers) on a free loopback port and
measures, each with 16 connections for --duration seconds after a short warm-up:

  ping      GET /ping                                  trivial JSON view, no database: the ceiling
  read      GET /fhir/R4/<Type>/<id>                   rotating over thousands of stored resources
  search    GET /fhir/R4/Observation?patient=..&code=..  patient/code pairs with about 20 hits each
  create    POST /fhir/R4/Observation                  a valid Observation for a stored patient

and then the latency of GET Patient/<id>/$everything for the patient copied from the largest
shared Synthea bundle (median of sequential requests). wrk and the server share the 2 cores.
Every request carries the bearer token of a staff account holding every permission (`bench`,
made in the benchmark database if missing), so what is measured is the secured API:
authentication, authorization and the audit log included. Needs Debian's `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH_DIR,
    DATASET,
    PYTHON,
    ROOT,
    bench_token,
    database_env,
    load_manifest,
    machine,
)

CONNECTIONS = 16
THREADS = 2


def require_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        sys.exit("error: the HTTP benchmark needs wrk; install it with: apt-get update && apt-get install -y wrk")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- picking what to ask for ----------------------------------------------------------------------

def pick_targets(engine: str, postgres_url: str | None, dataset: Path, seed: int) -> dict:
    os.environ.update(database_env(engine, postgres_url))
    if engine == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.db import connection

    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM fhir_resource WHERE deleted = %s", [False])
        stored = cursor.fetchone()[0]
        if not stored:
            sys.exit("error: the benchmark database is empty; run benchmarks/bench_import.py first")
        cursor.execute("SELECT MAX(id) FROM fhir_resource")
        top = cursor.fetchone()[0]
        wanted = sorted(rng.sample(range(1, top + 1), min(5000, top)))
        reads = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            cursor.execute(
                f"SELECT resource_type, logical_id FROM fhir_resource WHERE deleted = %s AND id IN "
                f"({', '.join(['%s'] * len(chunk))})", [False, *chunk])
            reads += [f"/fhir/R4/{t}/{i}" for t, i in cursor.fetchall()]
        cursor.execute(
            "SELECT r.target_id, t.system, t.code, COUNT(DISTINCT r.resource_id) AS hits "
            "FROM fhir_idx_reference r JOIN fhir_idx_token t ON t.resource_id = r.resource_id "
            "WHERE r.resource_type = 'Observation' AND r.param = 'patient' AND r.target_type = 'Patient' "
            "AND t.param = 'code' AND t.code IS NOT NULL "
            "GROUP BY r.target_id, t.system, t.code HAVING COUNT(DISTINCT r.resource_id) BETWEEN 15 AND 25 "
            "ORDER BY r.target_id, t.code LIMIT 2000")
        pairs = cursor.fetchall()
        cursor.execute("SELECT logical_id FROM fhir_resource WHERE resource_type = 'Patient' AND deleted = %s "
                       "ORDER BY id LIMIT 200", [False])
        patients = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT COUNT(*) FROM fhir_resource WHERE resource_type = 'Patient' AND deleted = %s", [False])
        patient_count = cursor.fetchone()[0]
    connection.close()
    rng.shuffle(pairs)
    pairs = pairs[:500]
    searches = [f"/fhir/R4/Observation?patient={p}&code={s}%7C{c}" if s else f"/fhir/R4/Observation?patient={p}&code={c}"
                for p, s, c, _hits in pairs]
    manifest = load_manifest(dataset)
    # bench_import.py loads the first N patients of the manifest: the largest bundle among them.
    largest = max(manifest["patients"][: max(patient_count, 1)], key=lambda p: p["resources"])
    return {
        "stored": stored,
        "reads": reads,
        "searches": searches,
        "search_hits": [h for *_rest, h in pairs],
        "patients": patients,
        "largest": largest,
        "imported_patients": patient_count,
    }


# -- wrk --------------------------------------------------------------------------------------------

def lua_rotate(paths: list[str]) -> str:
    items = ",\n".join(f'  "{p}"' for p in paths)
    return (
        "local paths = {\n" + items + "\n}\n"
        "local i = math.random(#paths)\n"
        "request = function()\n"
        "  i = (i % #paths) + 1\n"
        '  return wrk.format("GET", paths[i])\n'
        "end\n"
    )


def lua_post(path: str, body: bytes) -> str:
    escaped = body.decode().replace("\\", "\\\\").replace('"', '\\"')
    return (
        'wrk.method = "POST"\n'
        f'wrk.path = "{path}"\n'
        f'wrk.body = "{escaped}"\n'
        'wrk.headers["Content-Type"] = "application/fhir+json"\n'
        'wrk.headers["Prefer"] = "return=minimal"\n'
    )


def _seconds(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def parse_wrk(output: str) -> dict:
    result = {"requests_per_second": None, "latency_ms": {}, "errors": 0, "non_2xx": 0, "requests": 0}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match:
        result["requests_per_second"] = round(float(match.group(1)), 1)
    match = re.search(r"(\d+) requests in", output)
    if match:
        result["requests"] = int(match.group(1))
    for percentile in ("50%", "90%", "99%"):
        match = re.search(rf"^\s+{re.escape(percentile)}\s+(\S+)", output, re.M)
        if match:
            result["latency_ms"][f"p{percentile[:-1]}"] = round(_seconds(match.group(1)) * 1000, 2)
    match = re.search(r"Latency\s+(\S+)", output)
    if match:
        result["latency_ms"]["mean"] = round(_seconds(match.group(1)) * 1000, 2)
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if match:
        result["non_2xx"] = int(match.group(1))
    match = re.search(r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)", output)
    if match:
        result["errors"] = sum(int(g) for g in match.groups())
    return result


def auth_header(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def run_wrk(wrk: str, url: str, script: str | None, duration: float, warmup: float, token: str | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script or "")
        script_path = handle.name
    try:
        # -H headers are set before the script runs, and wrk.format() sends them with every request.
        headers = [arg for name, value in auth_header(token).items() for arg in ("-H", f"{name}: {value}")]
        base = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", "--latency", *headers, "-s", script_path]
        if warmup:
            subprocess.run(base + [f"-d{warmup:g}s", url], capture_output=True, text=True, check=False)
        done = subprocess.run(base + [f"-d{duration:g}s", url], capture_output=True, text=True, check=False)
    finally:
        os.unlink(script_path)
    if done.returncode != 0:
        sys.exit(f"error: wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk(done.stdout) | {"raw": done.stdout}


# -- the server -------------------------------------------------------------------------------------

def start_server(env: dict, port: int, workers: int, log_name: str = "server.log") -> subprocess.Popen:
    log = open(BENCH_DIR / log_name, "w")
    process = subprocess.Popen(
        [PYTHON, "-m", "mederi", "serve", "--no-worker", "--workers", str(workers), "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"error: the server exited; see {BENCH_DIR / log_name}")
        try:
            status, _body = get(port, "/ping")
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(process)
    sys.exit("error: the server did not answer within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def get(port: int, path: str, timeout: float = 60, token: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "application/fhir+json", **auth_header(token)})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def time_everything(port: int, patient_id: str, repeats: int, token: str | None = None) -> dict:
    path = f"/fhir/R4/Patient/{patient_id}/$everything"
    status, body = get(port, path, token=token)  # warm-up
    if status != 200:
        sys.exit(f"error: {path} answered {status}: {body[:300]!r}")
    bundle = orjson.loads(body)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        status, body = get(port, path, token=token)
        times.append(time.perf_counter() - started)
    return {"patient": patient_id, "entries": len(bundle.get("entry", [])), "total": bundle.get("total"),
            "bytes": len(body), "median_ms": round(statistics.median(times) * 1000, 1),
            "min_ms": round(min(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1), "repeats": repeats}


def observation_body(patient_id: str) -> bytes:
    return orjson.dumps({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs", "display": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}],
                 "text": "Heart rate"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2024-05-01T10:30:00+00:00",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    })


def run(engine: str, postgres_url: str | None, dataset: Path, duration: float, warmup: float, workers: int,
        repeats: int, seed: int) -> dict:
    wrk = require_wrk()
    targets = pick_targets(engine, postgres_url, dataset, seed)
    if not targets["searches"]:
        sys.exit("error: no Observation patient/code pair has about 20 hits; import more patients")
    env = database_env(engine, postgres_url)
    token = bench_token(env)
    port = free_port()
    process = start_server(env, port, workers)
    base = f"http://127.0.0.1:{port}"
    results: dict = {}
    try:
        status, body = get(port, targets["searches"][0], token=token)
        if status != 200:
            sys.exit(f"error: the search answered {status}: {body[:300]!r}")
        sample_total = orjson.loads(body).get("total")
        status, body = get(port, targets["reads"][0], token=token)
        if status != 200:
            sys.exit(f"error: the read answered {status}: {body[:300]!r}")
        plan = [
            ("ping", f"{base}/ping", None),
            ("read", f"{base}/", lua_rotate(targets["reads"])),
            ("search", f"{base}/", lua_rotate(targets["searches"])),
            ("create", f"{base}/fhir/R4/Observation",
             lua_post("/fhir/R4/Observation", observation_body(targets["patients"][0]))),
        ]
        for name, url, script in plan:
            print(f"  {engine}: {name} ...", file=sys.stderr, flush=True)
            results[name] = run_wrk(wrk, url, script, duration, warmup, token)
        print(f"  {engine}: $everything ...", file=sys.stderr, flush=True)
        everything = time_everything(port, targets["largest"]["patient"], repeats, token)
    finally:
        stop_server(process)
    ping = results["ping"]["requests_per_second"] or 0
    summary = {
        "engine": engine,
        "stored_resources": targets["stored"],
        "workers": workers,
        "connections": CONNECTIONS,
        "duration_s": duration,
        "read_ids": len(targets["reads"]),
        "search_queries": len(targets["searches"]),
        "search_hits_mean": round(statistics.mean(targets["search_hits"]), 1),
        "search_sample_total": sample_total,
        "everything_source": targets["largest"]["source"],
        "machine": machine(),
        "endpoints": {},
        "everything": everything,
    }
    for name, result in results.items():
        entry = {k: v for k, v in result.items() if k != "raw"}
        if ping and name != "ping" and result["requests_per_second"]:
            entry["ratio_to_ping"] = round(result["requests_per_second"] / ping, 2)
        summary["endpoints"][name] = entry
    return summary


def print_summary(summary: dict) -> None:
    print(f"HTTP ({summary['engine']}, {summary['stored_resources']} resources, {summary['workers']} workers, "
          f"{summary['connections']} connections):")
    for name, entry in summary["endpoints"].items():
        ratio = f"  ratio to ping {entry['ratio_to_ping']:.2f}" if "ratio_to_ping" in entry else ""
        bad = f"  NON-2xx {entry['non_2xx']}" if entry["non_2xx"] else ""
        print(f"  {name:<8} {entry['requests_per_second']:>8} req/s  p50 {entry['latency_ms'].get('p50')} ms  "
              f"p99 {entry['latency_ms'].get('p99')} ms{ratio}{bad}")
    everything = summary["everything"]
    print(f"  $everything  median {everything['median_ms']} ms for {everything['entries']} resources "
          f"({everything['bytes'] // 1024} KiB), from {summary['everything_source']}")


def add_load_options(parser: argparse.ArgumentParser, duration_help: str) -> None:
    """The options every wrk-driven benchmark takes: database, data set, load, server workers."""
    parser.add_argument("--postgres", metavar="URL", help="the PostgreSQL database bench_import.py filled")
    parser.add_argument("--dataset", default=str(DATASET))
    parser.add_argument("--duration", type=float, default=10.0, help=duration_help)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    parser.add_argument("--workers", type=int, default=2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="HTTP throughput of the FHIR API under wrk")
    add_load_options(parser, "seconds of load per endpoint")
    parser.add_argument("--repeats", type=int, default=5, help="sequential $everything requests to time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="result file (default var/bench/http-<engine>.json)")
    args = parser.parse_args(argv)
    engine = "postgres" if args.postgres else "sqlite"
    summary = run(engine, args.postgres, Path(args.dataset), args.duration, args.warmup, args.workers,
                  args.repeats, args.seed)
    out = Path(args.json) if args.json else BENCH_DIR / f"http-{engine}.json"
    out.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print_summary(summary)
    bad = sum(e["non_2xx"] + e["errors"] for e in summary["endpoints"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
