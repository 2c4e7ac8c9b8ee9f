"""Server time of the scheduling pages on the front-desk data set (make_frontdesk_dataset.py).

Measured in the server process, the way a request is served (URL routing, middleware, session,
permission check, the page's reads and audit entry, template rendering), with Django's test
client signed in as a front-desk user; no network in between:

* the day calendar of a 20-provider location (target: under 200 ms);
* next available across the location's 20 providers over 60 days (target: under 100 ms), as the
  service call and as the search page; plus the worst case, a search for something that fits
  nowhere, which reads and works out all 60 days.

    .venv/bin/python benchmarks/bench_schedule.py --scale 0.05
    .venv/bin/python benchmarks/bench_schedule.py --postgres postgres://postgres@127.0.0.1:5432/frontdesk_bench

Results: var/bench/schedule-<engine>[-<scale>].json, and a table on stdout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from datetime import date, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, machine, staff_user, summary_ms, timed  # noqa: E402
from make_frontdesk_dataset import configure_django  # noqa: E402

USERNAME = "bench-frontdesk"


def summary(samples: tuple[list[float], list[float]]) -> dict:
    wall, cpu = samples
    # CPU time of this process (with SQLite that includes the database's own work): what the
    # request costs on an idle machine, when other work shares the cores.
    return {**summary_ms(wall), "median_cpu_ms": round(statistics.median(cpu), 1)}


def front_desk_user():
    return staff_user(USERNAME, "Bench Desk")


def workdays_around(anchor: date, before: int, after: int) -> list[date]:
    days = [anchor + timedelta(days=d) for d in range(-before, after + 1)]
    return [d for d in days if d.weekday() < 5]


def run(manifest: dict, runs: int) -> dict:
    from django.db import connection
    from django.test import Client

    from mederi.accounts.context import context_for_user
    from mederi.core.context import Context
    from mederi.scheduling import availability, practice_time, selectors, services

    user = front_desk_user()
    client = Client()
    client.force_login(user)
    context = context_for_user(user)
    location = manifest["locations"][0]
    providers = [p["id"] for p in manifest["providers"] if p["location"] == location]
    anchor = date.fromisoformat(manifest["anchor"])
    start = max(anchor, practice_time.today())
    days = workdays_around(anchor, 10, 10)
    results: dict = {"engine": connection.vendor, "location": location, "providers": len(providers),
                     "anchor": manifest["anchor"], "scale": manifest["scale"], "machine": machine()}

    def calendar_page(index: int) -> None:
        response = client.get(f"/schedule/?location={location}&date={days[index % len(days)].isoformat()}")
        assert response.status_code == 200, response.status_code

    def calendar_reads(index: int) -> None:
        selectors.day_calendar(context, location, days[index % len(days)])

    shown = selectors.day_calendar(context, location, anchor)
    results["day_calendar_blocks_on_anchor_day"] = sum(len(c.blocks) for c in shown.columns)
    results["day_calendar_page"] = summary(timed(calendar_page, runs))
    results["day_calendar_reads_only"] = summary(timed(calendar_reads, runs))

    searches = [(t, tod, wd) for t in ("sick", "follow-up", "new") for tod in (None, "morning", "afternoon")
                for wd in (None, [2])]

    def next_available(index: int) -> None:
        type_code, time_of_day, weekdays = searches[index % len(searches)]
        found = availability.next_available(context, practitioner_ids=providers, location_id=location,
                                            type_code=type_code, start_date=start, days=60,
                                            time_of_day=time_of_day, weekdays=weekdays, limit=10)
        assert found, (type_code, time_of_day, weekdays)

    def find_page(index: int) -> None:
        type_code, time_of_day, weekdays = searches[index % len(searches)]
        query = f"type_code={type_code}&location_id={location}&start_date={start}&days=60"
        query += f"&time_of_day={time_of_day or ''}" + "".join(f"&weekdays={d}" for d in weekdays or ())
        response = client.get(f"/schedule/find/?{query}")
        assert response.status_code == 200, response.status_code

    # A type as long as a whole half-day (7:30-12:00 and 13:00-17:30 are 270 minutes): it fits only
    # where nobody is booked for a half-day, which never happens in the data set, so every one of
    # the 60 days is read and worked out for every provider: the slowest a search can be.
    services.save_appointment_type(Context.system("bench"), "bench-half-day", "A whole half-day", 265,
                                   "grey")

    def nothing_fits(index: int) -> None:
        found = availability.next_available(context, practitioner_ids=providers, location_id=location,
                                            type_code="bench-half-day", start_date=start, days=60, limit=10)
        assert not found

    results["next_available_service"] = summary(timed(next_available, runs))
    results["next_available_page"] = summary(timed(find_page, runs))
    results["next_available_nothing_fits_60_days"] = summary(timed(nothing_fits, max(5, runs // 3), warmup=1))
    return results


ROWS = (
    ("day calendar, 20 providers: page", "day_calendar_page", "< 200 ms"),
    ("day calendar: reads only (selector)", "day_calendar_reads_only", ""),
    ("next available, 20 providers, 60 days: service", "next_available_service", "< 100 ms"),
    ("next available: search page", "next_available_page", ""),
    ("next available, nothing fits in 60 days (worst case)", "next_available_nothing_fits_60_days", ""),
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgres", help="PostgreSQL URL of the loaded data set (default: the SQLite file)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", help="write a cProfile of the whole run to this file")
    args = parser.parse_args(argv)
    suffix = "" if args.scale == 1 else f"-{args.scale:g}"
    manifest_path = BENCH_DIR / f"frontdesk-ndjson{suffix}" / "manifest.json.txt"
    if not manifest_path.exists():
        sys.exit(f"error: no data set at {manifest_path}; run benchmarks/make_frontdesk_dataset.py first")
    manifest = orjson.loads(manifest_path.read_bytes())
    sqlite_path = BENCH_DIR / f"frontdesk{suffix}.sqlite3"
    if not args.postgres and not sqlite_path.exists():
        sys.exit(f"error: no database at {sqlite_path}; run benchmarks/make_frontdesk_dataset.py first")
    configure_django(None if args.postgres else sqlite_path, args.postgres)
    load_before = f"{os.getloadavg()[0]:.2f}"
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        results = profiler.runcall(run, manifest, args.runs)
        profiler.dump_stats(args.profile)
    else:
        results = run(manifest, args.runs)
    engine = "postgres" if args.postgres else "sqlite"
    out = BENCH_DIR / f"schedule-{engine}{suffix}.json"
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"{engine}, scale {args.scale:g}, {manifest['appointments']} appointments, "
          f"{results['day_calendar_blocks_on_anchor_day']} appointments on the anchor day's calendar")
    print(f"load average before/after: {load_before} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'measure':<52} {'median ms':>9} {'p95 ms':>8} {'cpu ms':>7}  target")
    for label, key, target in ROWS:
        row = results[key]
        print(f"{label:<52} {row['median_ms']:>9} {row['p95_ms']:>8} {row['median_cpu_ms']:>7}  {target}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
