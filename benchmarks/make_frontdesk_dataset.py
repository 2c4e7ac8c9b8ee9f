"""Build the front-desk benchmark practice: 100,000 patients and 1,000,000 appointments.

A practice with 40 providers, 20 at each of two locations, working weekdays 7:30-12 and 13-17:30,
and a little over two years of appointments (most of it past, four months ahead) of every
status: fulfilled, no-show and cancelled behind, arrived and checked-in today, booked ahead, the
days ahead filling less the further away they are. A million appointments in that time is 42
per provider and working day: about 28 fill the day (10 to 40 minutes each, 18 on average) and
the rest are cancellations, the churn behind a busy schedule. Every patient has an MRN, a phone number and a
Coverage with a member id, so registration's typeahead can be measured on the same data.

The resources are written as NDJSON files (5,000 lines each; each file is imported as one
transaction) and loaded with the record's own importer (`mederi.fhir.services.import_paths`,
what `mederi import -j 2` runs); the availability templates (weekly hours, lunch breaks,
appointment types) are written through the scheduling services. Deterministic for a --seed;
`--scale 0.05` builds a 5% practice (same density per day, fewer days and patients) to try the
scripts quickly.

    .venv/bin/python benchmarks/make_frontdesk_dataset.py --scale 0.05
    .venv/bin/python benchmarks/make_frontdesk_dataset.py --postgres postgres://postgres@127.0.0.1:5432/frontdesk_bench
    .venv/bin/python benchmarks/make_frontdesk_dataset.py --skip-sqlite --postgres ...   # only PostgreSQL

Output: NDJSON in var/bench/frontdesk-ndjson[-<scale>]/ with manifest.json.txt, the SQLite database
var/bench/frontdesk.sqlite3 (var/bench/frontdesk-<scale>.sqlite3 when scaled), and the PostgreSQL
database named by --postgres (dropped and created again).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, ROOT, machine, recreate_postgres  # noqa: E402

PATIENTS = 100_000
APPOINTMENTS = 1_000_000
PROVIDERS = 40
PAST_DAYS, FUTURE_DAYS = 700, 130  # about two years and a quarter around the anchor day
LINES_PER_FILE = 5_000
ZONE = "America/Chicago"  # the practice's clock (MEDERI_PRACTICE_TIME_ZONE default)
TYPE_SYSTEM = "urn:mederi:appointment-type"
CANCEL_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.7777.1"
MEMBER_SYSTEM = "urn:mederi:member-id"
PAYER_SYSTEM = "urn:mederi:payer-id"
LOCATIONS = (("fd-loc-main", "Lakeside main clinic"), ("fd-loc-north", "Lakeside north clinic"))
# code, name, minutes, colour, weight among bookings
TYPES = (
    ("quick", "Nurse visit", 10, "teal", 20),
    ("sick", "Sick visit", 15, "orange", 40),
    ("follow-up", "Follow-up", 20, "blue", 25),
    ("physical", "Annual physical", 30, "green", 10),
    ("new", "New patient", 40, "purple", 5),
)
HOURS = ((clock(7, 30), clock(12)), (clock(13), clock(17, 30)))
GIVEN = ["Ada", "Beatriz", "Clara", "Dalia", "Elena", "Fatima", "Greta", "Hana", "Ines", "Julia", "Kira", "Lena",
         "Maya", "Nora", "Olga", "Paula", "Rosa", "Sara", "Tara", "Vera", "Aaron", "Bruno", "Carlos", "David", "Emil",
         "Felix", "Gustav", "Hugo", "Ivan", "Jonas", "Karl", "Luis", "Marco", "Nils", "Oscar", "Pablo", "Rafael",
         "Simon", "Tomas", "Victor", "Amir", "Chen", "Dmitri", "Farah", "Kenji", "Leila", "Mateo", "Priya", "Yusuf"]
FAMILY = ["Abbott", "Baker", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ibarra", "Jensen",
          "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka",
          "Unger", "Varga", "Weber", "Xavier", "Yilmaz", "Zeller", "Nguyen", "Patel", "Kim", "Haddad", "Mensah",
          "Oyelaran", "Schmidt", "Johansson", "Costa", "Murphy", "Kaur", "Sato", "Ivanova", "Berg", "Romero"]
STREETS = ["Elm Street", "Oak Avenue", "Lake Road", "Maple Drive", "Cedar Lane", "Hill Street", "River Road"]


def _instant(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Writer:
    """NDJSON files of LINES_PER_FILE resources each."""

    def __init__(self, out: Path, prefix: str):
        self.out, self.prefix, self.count, self.files = out, prefix, 0, []
        self.handle = None

    def write(self, resource: dict) -> None:
        if self.count % LINES_PER_FILE == 0:
            self.close()
            path = self.out / f"{self.prefix}-{len(self.files):04d}.ndjson"
            self.files.append(path.name)
            self.handle = open(path, "wb")
        self.handle.write(orjson.dumps(resource))
        self.handle.write(b"\n")
        self.count += 1

    def close(self) -> None:
        if self.handle:
            self.handle.close()
            self.handle = None


def providers() -> list[dict]:
    found = []
    for n in range(PROVIDERS):
        location_id = LOCATIONS[0][0] if n < PROVIDERS // 2 else LOCATIONS[1][0]
        found.append({"id": f"fd-dr-{n + 1:02d}", "family": FAMILY[n % len(FAMILY)],
                      "given": GIVEN[(n * 7) % len(GIVEN)], "location": location_id})
    return found


def directory(out: Path) -> tuple[list[str], list[dict]]:
    writer = Writer(out, "a-directory")
    writer.write({"resourceType": "Organization", "id": "fd-practice", "active": True, "name": "Lakeside Medical Group"})
    for n, name in enumerate(("Acme Health Plan", "Medicare Part B", "Blue Prairie"), start=1):
        writer.write({"resourceType": "Organization", "id": f"fd-payer-{n}", "active": True, "name": name,
                      "identifier": [{"system": PAYER_SYSTEM, "value": f"PAYER{n:02d}"}],
                      "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                            "code": "pay"}]}]})
    for location_id, name in LOCATIONS:
        writer.write({"resourceType": "Location", "id": location_id, "status": "active", "name": name,
                      "managingOrganization": {"reference": "Organization/fd-practice"}})
    staff = providers()
    for p in staff:
        writer.write({"resourceType": "Practitioner", "id": p["id"], "active": True,
                      "name": [{"family": p["family"], "given": [p["given"]], "prefix": ["Dr."]}]})
    writer.close()
    return writer.files, staff


def patients(out: Path, count: int, rng: random.Random) -> list[str]:
    writer = Writer(out, "b-patients")
    for n in range(1, count + 1):
        pid = f"fd-pat-{n:06d}"
        gender = rng.choice(("female", "male"))
        born = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 88))
        writer.write({
            "resourceType": "Patient", "id": pid, "active": True,
            "identifier": [{"system": MRN_SYSTEM, "value": f"FD{n:06d}",
                            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                 "code": "MR"}]}}],
            "name": [{"use": "official", "family": rng.choice(FAMILY),
                      "given": [rng.choice(GIVEN)] + ([rng.choice("ABCDEFGHJKLMNPRST")] if rng.random() < 0.4 else [])}],
            "gender": gender, "birthDate": born.isoformat(),
            "telecom": [{"system": "phone", "value": f"555-{rng.randrange(200, 999)}-{rng.randrange(10000):04d}",
                         "use": "mobile"}],
            "address": [{"line": [f"{rng.randrange(1, 999)} {rng.choice(STREETS)}"], "city": "Springfield",
                         "state": "IL", "postalCode": f"627{rng.randrange(10, 99)}"}],
        })
        member = f"M{rng.randrange(10**9):09d}"
        writer.write({
            "resourceType": "Coverage", "id": f"fd-cov-{n:06d}", "status": "active", "subscriberId": member,
            "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                 "code": "MB"}]}, "system": MEMBER_SYSTEM, "value": member}],
            "beneficiary": {"reference": f"Patient/{pid}"}, "payor": [{"reference": f"Organization/fd-payer-{n % 3 + 1}"}],
            "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                                         "code": "self"}]},
        })
    writer.close()
    return writer.files


def _fill(day_offset: int) -> float:
    """How full a day is: the past and the next week nearly full, later weeks less so."""
    if day_offset <= 7:
        return 0.92
    if day_offset <= 21:
        return 0.8
    if day_offset <= 60:
        return 0.55
    return 0.3


def _appointment(n: int, status: str, start: datetime, minutes: int, kind: tuple, patient: str, provider: dict,
                 stage: str | None = None) -> dict:
    resource = {
        "resourceType": "Appointment", "id": f"fd-appt-{n:07d}", "status": status,
        "appointmentType": {"coding": [{"system": TYPE_SYSTEM, "code": kind[0], "display": kind[1]}], "text": kind[1]},
        "start": _instant(start), "end": _instant(start + timedelta(minutes=minutes)), "minutesDuration": minutes,
        "created": _instant(start - timedelta(days=14)),
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "required": "required", "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{provider['id']}"}, "required": "required", "status": "accepted"},
            {"actor": {"reference": f"Location/{provider['location']}"}, "required": "required", "status": "accepted"},
        ],
    }
    if status == "cancelled":
        resource["cancelationReason"] = {"coding": [{"system": CANCEL_SYSTEM, "code": "pat"}],
                                         "text": "Patient cancelled"}
    if stage:
        resource["extension"] = [{"url": "urn:mederi:appointment-stage", "valueCode": stage}]
    return resource


def appointments(out: Path, target: int, patient_count: int, staff: list[dict], anchor: date, past: int,
                 future: int, rng: random.Random) -> list[str]:
    zone = ZoneInfo(ZONE)
    writer = Writer(out, "c-appointments")
    weights = [t[4] for t in TYPES]
    workdays = [anchor + timedelta(days=d) for d in range(-past, future + 1)
                if (anchor + timedelta(days=d)).weekday() < 5]
    quota = target / (len(staff) * len(workdays))  # appointments (of every status) per provider and day
    made = 0
    carry = 0.0
    for day in workdays:
        offset = (day - anchor).days
        for provider in staff:
            carry += quota
            wanted, carry = int(carry), carry - int(carry)
            made_here = 0
            for opens, closes in HOURS:
                moment = datetime.combine(day, opens, tzinfo=zone)
                end = datetime.combine(day, closes, tzinfo=zone)
                while made_here < wanted:
                    kind = rng.choices(TYPES, weights)[0]
                    if moment + timedelta(minutes=kind[2]) > end:
                        break
                    if rng.random() > _fill(offset):
                        moment += timedelta(minutes=15)  # left free
                        continue
                    status, stage = "booked", None
                    if offset < 0:
                        status = rng.choices(("fulfilled", "noshow"), (95, 5))[0]
                        stage = "checked-out" if status == "fulfilled" else None
                    elif offset == 0 and moment.hour < 11:
                        status, stage = rng.choice((("fulfilled", "checked-out"), ("checked-in", "in-room"),
                                                    ("arrived", "arrived"), ("booked", None)))
                    made += 1
                    made_here += 1
                    patient = f"fd-pat-{rng.randrange(1, patient_count + 1):06d}"
                    writer.write(_appointment(made, status, moment, kind[2], kind, patient, provider, stage))
                    moment += timedelta(minutes=kind[2])
            while made_here < wanted:  # the rest of the day's churn: cancelled bookings
                kind = rng.choices(TYPES, weights)[0]
                opens, closes = rng.choice(HOURS)
                quarters = int((datetime.combine(day, closes) - datetime.combine(day, opens)).total_seconds() // 900)
                moment = datetime.combine(day, opens, tzinfo=zone) + timedelta(minutes=15 * rng.randrange(quarters))
                made += 1
                made_here += 1
                patient = f"fd-pat-{rng.randrange(1, patient_count + 1):06d}"
                writer.write(_appointment(made, "cancelled", moment, kind[2], kind, patient, provider))
    writer.close()
    return writer.files


def generate(out: Path, scale: float, seed: int, anchor: date) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.ndjson"):
        old.unlink()
    rng = random.Random(seed)
    patient_count = max(100, int(PATIENTS * scale))
    target = max(1000, int(APPOINTMENTS * scale))
    past = max(7, int(PAST_DAYS * scale))
    future = max(70, int(FUTURE_DAYS * scale))  # always room for a 60-day search
    # Scaled down, the days shrink with the appointments so each day stays as full as in the real run.
    past = max(7, int((target / APPOINTMENTS) * (PAST_DAYS + FUTURE_DAYS)) - future) if scale < 1 else past
    started = time.monotonic()
    files, staff = directory(out)
    files += patients(out, patient_count, rng)
    files += appointments(out, target, patient_count, staff, anchor, past, future, rng)
    manifest = {
        "scale": scale, "seed": seed, "anchor": anchor.isoformat(), "zone": ZONE, "patients": patient_count,
        "appointments": target, "past_days": past, "future_days": future, "files": files,
        "locations": [loc for loc, _ in LOCATIONS], "providers": staff,
        "types": [{"code": c, "name": n, "minutes": m, "colour": col} for c, n, m, col, _ in TYPES],
        "hours": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in HOURS],
        "generated_seconds": round(time.monotonic() - started, 1),
    }
    (out / "manifest.json.txt").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


# -- loading -----------------------------------------------------------------------------------------


def configure_django(sqlite_path: Path | None = None, postgres_url: str | None = None) -> None:
    """Point Django at a benchmark database (the SQLite file keeps the app's WAL settings)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "mederi.settings"
    os.environ.setdefault("MEDERI_VAR_DIR", str(BENCH_DIR / "frontdesk-var"))
    if postgres_url:
        os.environ["DATABASE_URL"] = postgres_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    from django.conf import settings

    if sqlite_path is not None:
        settings.DATABASES["default"]["NAME"] = str(sqlite_path)
    import django

    django.setup()


def load(manifest: dict, out: Path, jobs: int) -> dict:
    from django.core.management import call_command

    from mederi.core.context import Context
    from mederi.fhir.services import import_paths
    from mederi.scheduling import services

    call_command("migrate", verbosity=0, interactive=False)
    started = time.monotonic()
    failures = []

    def on_file(path, report):
        if report.error:
            failures.append(f"{path.name}: {report.error}")
        print(f"  {path.name}: {report.resources} resources{' FAILED ' + report.error if report.error else ''}",
              flush=True)

    report = import_paths([out / name for name in manifest["files"]], Context.system("import"), on_file=on_file,
                          jobs=jobs)
    imported = time.monotonic() - started
    system = Context.system("bench")
    for t in manifest["types"]:
        services.save_appointment_type(system, t["code"], t["name"], t["minutes"], t["colour"])
    from mederi.scheduling.models import WeeklyHours

    if not WeeklyHours.objects.exists():
        for provider in manifest["providers"]:
            for weekday in range(5):
                for opens, closes in manifest["hours"]:
                    services.add_weekly_hours(system, provider["id"], provider["location"], weekday,
                                              clock.fromisoformat(opens), clock.fromisoformat(closes))
    # The BusyTime copy of bookings (what the hourly job does), from yesterday to the last day.
    from mederi.scheduling import practice_time, projection

    anchor = date.fromisoformat(manifest["anchor"])
    copied = projection.rebuild(practice_time.day_bounds(anchor - timedelta(days=1))[0],
                                practice_time.day_bounds(anchor + timedelta(days=manifest["future_days"]))[1])
    from django.db import connection

    if connection.vendor == "postgresql":  # set the visibility map and hint bits once, as a DBA would after a bulk load
        with connection.cursor() as cursor:  # (Django runs in autocommit mode outside atomic blocks)
            cursor.execute("VACUUM (ANALYZE)")
    return {"resources": report.resources, "failed_files": failures, "import_seconds": round(imported, 1),
            "busy_times_copied": copied,
            "resources_per_second": round(report.resources / imported, 1) if imported else None}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full practice (default 1)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--anchor", help="the data set's 'today' (default: today)")
    parser.add_argument("--postgres", help="PostgreSQL URL of a database to (re)create and load")
    parser.add_argument("--skip-sqlite", action="store_true", help="do not build the SQLite database")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the NDJSON files already generated")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="import processes (default 2)")
    parser.add_argument("--engine", choices=("sqlite", "postgres"), help=argparse.SUPPRESS)  # one load, in a child
    args = parser.parse_args(argv)
    suffix = "" if args.scale == 1 else f"-{args.scale:g}"
    out = BENCH_DIR / f"frontdesk-ndjson{suffix}"
    sqlite_path = BENCH_DIR / f"frontdesk{suffix}.sqlite3"
    if args.engine:  # a child process loading one database (Django can be set up only once per process)
        manifest = orjson.loads((out / "manifest.json.txt").read_bytes())
        configure_django(sqlite_path if args.engine == "sqlite" else None, args.postgres)
        result = load(manifest, out, args.jobs)
        result.update(engine=args.engine, scale=args.scale, machine=machine())
        (BENCH_DIR / f"frontdesk-load-{args.engine}{suffix}.json").write_bytes(
            orjson.dumps(result, option=orjson.OPT_INDENT_2))
        print(orjson.dumps(result).decode())
        return
    if not args.skip_generate:
        anchor = date.fromisoformat(args.anchor) if args.anchor else date.today()
        manifest = generate(out, args.scale, args.seed, anchor)
        print(f"generated {manifest['patients']} patients, {manifest['appointments']} appointments "
              f"({len(manifest['files'])} files) in {manifest['generated_seconds']} s into {out}", flush=True)
    import subprocess

    if not args.skip_sqlite:
        for leftover in (sqlite_path, Path(f"{sqlite_path}-wal"), Path(f"{sqlite_path}-shm")):
            leftover.unlink(missing_ok=True)
        print(f"loading SQLite {sqlite_path}", flush=True)
        subprocess.run([sys.executable, __file__, "--engine", "sqlite", "--scale", str(args.scale),
                        "-j", str(args.jobs)], check=True)
    if args.postgres:
        recreate_postgres(args.postgres)
        print(f"loading PostgreSQL {args.postgres}", flush=True)
        subprocess.run([sys.executable, __file__, "--engine", "postgres", "--scale", str(args.scale),
                        "--postgres", args.postgres, "-j", str(args.jobs)], check=True)


if __name__ == "__main__":
    main()
