"""What authentication, authorization and the audit log cost: FHIR read and search throughput with
security on and off, side by side in one run on the same database.

    .venv/bin/python benchmarks/bench_security.py                # SQLite database of bench_import.py
    .venv/bin/python benchmarks/bench_security.py --postgres postgres://postgres@127.0.0.1:5432/mederi_bench

It expects the database imported by bench_import.py and measures the same read and search URL
lists as bench_http.py (same seed), with the same wrk settings. Two servers (`mederi serve
--workers 2`) are started, one per mode, and the load alternates between them in rounds: read on,
read off, search on, search off, then the next round. A change in the machine's speed during the
run then shows up in both modes instead of in the comparison, and the spread of the rounds shows
how noisy the machine was. Server logs: var/bench/server-security-on.log and -off.log.

  on   the normal server; every request carries the bearer token of an all-permission staff
       account, so each one is authenticated, checked against roles, scopes and restricted
       records, and written to the audit log
  off  the same server with MEDERI_UNSAFE_NO_SECURITY=1: every request acts as the server itself,
       with no token lookup, no access checks and no audit log (a switch for benchmarks only)

The figures are the medians over the rounds; the cost is (off - on) / off. Requests carry the
token in both modes, so the bytes on the wire are the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_http import (  # noqa: E402
    CONNECTIONS,
    add_load_options,
    free_port,
    get,
    lua_rotate,
    pick_targets,
    require_wrk,
    run_wrk,
    start_server,
    stop_server,
)
from common import BENCH_DIR, bench_token, database_env, machine  # noqa: E402

MODES = ("on", "off")
ENDPOINTS = ("read", "search")
AIM_PERCENT = 15.0


def mode_env(engine: str, postgres_url: str | None, mode: str) -> dict:
    env = database_env(engine, postgres_url)
    if mode == "off":
        env["MEDERI_UNSAFE_NO_SECURITY"] = "1"
    return env


def check_mode(port: int, mode: str, path: str, token: str) -> None:
    """Make sure the server is in the mode we think: on refuses a request without a token, off answers it."""
    status, body = get(port, path, token=token)
    if status != 200:
        sys.exit(f"error: {path} answered {status} with security {mode}: {body[:300]!r}")
    status, _body = get(port, path)
    expected = 401 if mode == "on" else 200
    if status != expected:
        sys.exit(f"error: without a token {path} answered {status} with security {mode}, not {expected}")


def cost(on: float | None, off: float | None) -> float | None:
    if not on or not off:
        return None
    return round((off - on) / off * 100, 1)


def paired_cost(measured: list[dict], name: str) -> float | None:
    on = [e[name]["requests_per_second"] for e in measured if e["mode"] == "on"]
    off = [e[name]["requests_per_second"] for e in measured if e["mode"] == "off"]
    costs = [c for c in (cost(a, b) for a, b in zip(on, off)) if c is not None]
    return round(statistics.median(costs), 1) if costs else None


def run(engine: str, postgres_url: str | None, dataset: Path, duration: float, warmup: float, workers: int,
        rounds: int, seed: int) -> dict:
    wrk = require_wrk()
    targets = pick_targets(engine, postgres_url, dataset, seed)
    if not targets["searches"]:
        sys.exit("error: no Observation patient/code pair has about 20 hits; import more patients")
    token = bench_token(database_env(engine, postgres_url))
    scripts = {"read": lua_rotate(targets["reads"]), "search": lua_rotate(targets["searches"])}
    servers: dict[str, tuple] = {}
    measured: list[dict] = []
    try:
        # Both servers run for the whole measurement (an idle one costs no CPU), so the modes can
        # alternate every few seconds without a restart in between.
        for mode in MODES:
            port = free_port()
            servers[mode] = (port, start_server(mode_env(engine, postgres_url, mode), port, workers,
                                                f"server-security-{mode}.log"))
            for path in (targets["reads"][0], targets["searches"][0]):
                check_mode(port, mode, path, token)
        for number in range(1, rounds + 1):
            entries = {mode: {"round": number, "mode": mode} for mode in MODES}
            for name in ENDPOINTS:
                for mode in MODES:  # the two modes of one endpoint back to back: they see the same machine
                    print(f"  {engine}: round {number}, {name}, security {mode} ...", file=sys.stderr, flush=True)
                    port = servers[mode][0]
                    result = run_wrk(wrk, f"http://127.0.0.1:{port}/", scripts[name], duration, warmup, token)
                    entries[mode][name] = {k: v for k, v in result.items() if k != "raw"}
            measured += entries.values()
    finally:
        for _port, process in servers.values():
            stop_server(process)
    medians = {}
    for mode in MODES:
        medians[mode] = {name: round(statistics.median(e[name]["requests_per_second"] or 0 for e in measured
                                                       if e["mode"] == mode), 1) for name in ENDPOINTS}
    return {
        "engine": engine,
        "stored_resources": targets["stored"],
        "workers": workers,
        "connections": CONNECTIONS,
        "duration_s": duration,
        "rounds": rounds,
        "read_ids": len(targets["reads"]),
        "search_queries": len(targets["searches"]),
        "machine": machine(),
        "measured": measured,
        "median": medians,
        "cost_percent": {name: cost(medians["on"][name], medians["off"][name]) for name in ENDPOINTS},
        # each round's pair ran back to back, so the median of their costs is least moved by drift
        "paired_cost_percent": {name: paired_cost(measured, name) for name in ENDPOINTS},
        "aim_percent": AIM_PERCENT,
    }


def _rate(value) -> str:
    return f"{value:,.0f}" if value else "-"


def _percent(value) -> str:
    return "-" if value is None else f"{value:.1f} %"


def table(summary: dict) -> str:
    """A Markdown table: the median of each mode, every round, and the cost."""
    rows = [["mode", "read req/s", "search req/s", "read per round", "search per round"]]
    for mode in MODES:
        rounds = [e for e in summary["measured"] if e["mode"] == mode]
        rows.append([f"security {mode}", *(_rate(summary["median"][mode][n]) for n in ENDPOINTS),
                     *(" / ".join(_rate(e[n]["requests_per_second"]) for e in rounds) for n in ENDPOINTS)])
    on = [e for e in summary["measured"] if e["mode"] == "on"]
    off = [e for e in summary["measured"] if e["mode"] == "off"]
    rows.append(["cost (off - on) / off", *(_percent(summary["cost_percent"][n]) for n in ENDPOINTS),
                 *(" / ".join(_percent(cost(a[n]["requests_per_second"], b[n]["requests_per_second"]))
                              for a, b in zip(on, off)) for n in ENDPOINTS)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
        if number == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def print_summary(summary: dict) -> None:
    print(f"Security on and off ({summary['engine']}, {summary['stored_resources']} resources, "
          f"{summary['workers']} workers, {summary['connections']} connections, {summary['rounds']} rounds of "
          f"{summary['duration_s']:g} s per endpoint, medians; per round: on, off alternating):")
    print(table(summary))
    over = [n for n in ENDPOINTS if (summary["cost_percent"][n] or 0) > summary["aim_percent"]]
    verdict = f"above the {summary['aim_percent']:g} % aim for {' and '.join(over)}" if over else \
        f"within the {summary['aim_percent']:g} % aim"
    print(f"  cost of security: {verdict}; median of the per-round costs: read "
          f"{_percent(summary['paired_cost_percent']['read'])}, search {_percent(summary['paired_cost_percent']['search'])}")
    bad = [(e["round"], e["mode"], n) for e in summary["measured"] for n in ENDPOINTS
           if e[n]["non_2xx"] or e[n]["errors"]]
    for number, mode, name in bad:
        print(f"  WARNING: round {number}, security {mode}, {name}: non-2xx answers or socket errors")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="FHIR read and search throughput with security on and off")
    add_load_options(parser, "seconds of load per endpoint, mode and round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of on, off (at least 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="result file (default var/bench/security-<engine>.json)")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2, so that drift between rounds shows")
    engine = "postgres" if args.postgres else "sqlite"
    summary = run(engine, args.postgres, Path(args.dataset), args.duration, args.warmup, args.workers,
                  args.rounds, args.seed)
    out = Path(args.json) if args.json else BENCH_DIR / f"security-{engine}.json"
    out.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print_summary(summary)
    bad = sum(e[n]["non_2xx"] + e[n]["errors"] for e in summary["measured"] for n in ENDPOINTS)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
