"""Server time of the reports over a quarter of the front-desk benchmark practice.

Reads a database built by benchmarks/make_frontdesk_dataset.py (20 providers at each of two
locations, about 42 appointments per provider and working day). Run it on a copy of that
database: every report view writes an audit entry.

    cp var/bench/frontdesk-0.05.sqlite3 /tmp/reports.sqlite3
    .venv/bin/python benchmarks/bench_reports.py --sqlite /tmp/reports.sqlite3
    .venv/bin/python benchmarks/bench_reports.py --postgres postgres://postgres@127.0.0.1:5432/frontdesk_bench

It times each report's selector and page (Django's test client, signed in as a front-desk
user) for the 91 days ending on the data set's last day (or `--last`): for one location (20
providers) and for the whole practice (40). The first report of a period copies its appointments'
facts (timed separately); the timings after it are what people wait for. Prints a table and the
figures as JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import staff_user, summary_ms, timed  # noqa: E402


def _configure(sqlite_path: str | None, postgres_url: str | None) -> None:
    os.environ.setdefault("MEDERI_VAR_DIR", tempfile.mkdtemp(prefix="mederi-reports-bench-"))
    if postgres_url:
        os.environ["DATABASE_URL"] = postgres_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")
    from django.conf import settings

    if sqlite_path:
        settings.DATABASES["default"]["NAME"] = sqlite_path
    import django

    django.setup()


def _timed(call, runs: int) -> dict:
    return summary_ms(timed(lambda _index: call(), runs, warmup=1)[0])  # the warm-up loads templates, fills caches


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", help="the SQLite database (a copy: audit entries are written)")
    parser.add_argument("--postgres", help="the PostgreSQL database URL")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--days", type=int, default=91)
    parser.add_argument("--last", help="the period's last day (default: the data set's last day with appointments)")
    args = parser.parse_args(argv)
    if not args.sqlite and not args.postgres:
        parser.error("give --sqlite or --postgres")
    _configure(args.sqlite, args.postgres)

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from mederi.accounts.context import context_for_user
    from mederi.reports import facts, selectors
    from mederi.scheduling import practice_time

    call_command("migrate", "reports", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(low) FROM fhir_idx_date WHERE resource_type = 'Appointment' AND param = 'date'")
        newest = cursor.fetchone()[0]
    last = practice_time.local_day(newest if not isinstance(newest, str) else
                                   practice_time.parse_instant(newest.replace(" ", "T")))
    if args.last:
        last = date.fromisoformat(args.last)
    first = last - timedelta(days=args.days - 1)
    user = staff_user("bench-reports", "Bench Reports")
    context = context_for_user(user)
    client = Client()
    client.force_login(user)
    location = "fd-loc-main"
    start, end = selectors.check_filters(first, last).bounds
    first_sync = time.perf_counter()
    added, _ = facts.sync(start, end)
    first_sync = round((time.perf_counter() - first_sync) * 1000, 1)
    appointments = {scope: sum(g.count for g in facts.count(start, end, location_id=loc))
                    for scope, loc in (("location", location), ("practice", None))}
    results = {"engine": connection.vendor, "from": first.isoformat(), "to": last.isoformat(),
               "appointments": appointments, "first_sync": {"facts_added": added, "ms": first_sync}, "timings": {}}
    reports = (("no-shows", selectors.no_show_rate), ("utilization", selectors.provider_utilization),
               ("appointments", selectors.appointments_by_type_and_status))
    for scope, loc in (("location", location), ("practice", None)):
        for slug, read in reports:
            query = {"date_from": first.isoformat(), "date_to": last.isoformat(), **({"location": loc} if loc else {})}

            def page(slug=slug, query=query) -> None:
                response = client.get(f"/reports/{slug}/", query)
                assert response.status_code == 200, response.status_code

            results["timings"][f"{slug} {scope} selector"] = _timed(
                lambda read=read, loc=loc: read(context, first, last, loc), args.runs)
            results["timings"][f"{slug} {scope} page"] = _timed(page, args.runs)
    print(f"{results['engine']}: {first} to {last} ({args.days} days), appointments {appointments}")
    print(f"  first sync of the period's facts: {added} added in {first_sync} ms")
    for name, figures in results["timings"].items():
        print(f"  {name:38} median {figures['median_ms']:8.1f} ms   min {figures['min_ms']:8.1f}   "
              f"max {figures['max_ms']:8.1f}")
    print(orjson.dumps(results).decode())


if __name__ == "__main__":
    sys.exit(main())
