"""Patient search as you type at 100,000 patients: server time per kind of text, median and p95.

    .venv/bin/python benchmarks/bench_typeahead.py                 # SQLite: var/bench/frontdesk.sqlite3
    .venv/bin/python benchmarks/bench_typeahead.py --postgres postgres://postgres@127.0.0.1:5432/frontdesk_bench
    .venv/bin/python benchmarks/bench_typeahead.py --patients 20000 --queries 50   # quicker
    .venv/bin/python benchmarks/bench_typeahead.py --explain "chal pet"           # the query plans of one text
    .venv/bin/python benchmarks/bench_typeahead.py --sqlite var/bench/frontdesk-0.05.sqlite3 --patients 1

The database keeps what it has (`make_frontdesk_dataset.py` builds the same files, with appointments):
when it holds fewer patients than asked, generated ones are added first, through the record's bulk import (`mederi.fhir.services.import_paths`, NDJSON files of
Patients and their Coverages, one transaction per file). A few charts are labelled restricted, so
the access filter every staff search carries is part of what is measured.

For each kind (a family-name beginning, family and given beginnings, a date of birth in ISO and
US form, a phone number, an MRN, an insurance member id, a name nobody has) it times
`mederi.patients.selectors.typeahead` as a front-desk user (the audited selector the page calls),
and the page itself (`GET /patients/?q=...` with the htmx header, through Django's test client:
middleware, session, rendering), over texts sampled from the stored patients. The target is
< 100 ms server time. Results go to var/bench/typeahead-<engine>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, machine, staff_user, summary_ms  # noqa: E402

SQLITE_FILE = BENCH_DIR / "frontdesk.sqlite3"
GENERATED = BENCH_DIR / "typeahead-patients"
TARGET_MS = 100.0
PER_FILE = 5000
MRN_SYSTEM_DEFAULT = "urn:oid:2.16.840.1.113883.3.7777.1"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"

# Common US family and given names with rough weights: a few very common names make the broad
# prefixes ("smi", "joh") a realistic worst case.
FAMILIES = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
            "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
            "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
            "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
            "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
            "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
            "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster "
            "Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher "
            "Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno "
            "West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall "
            "Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb "
            "Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon "
            "Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer "
            "Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley "
            "Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham "
            "Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman "
            "Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Chalmers Okafor Haddad "
            "Lindqvist Okonkwo Vega Nunez").split()
GIVENS = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
          "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret "
          "Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin "
          "Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon "
          "Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen "
          "Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory "
          "Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry "
          "Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria "
          "Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah Judith Jeremy Megan Christian "
          "Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa Austin Ann "
          "Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy "
          "Alice Joe Judy Bruce Sophia Gabriel Grace Logan Denise Albert Amber Willie Doris Alan Marilyn Juan "
          "Danielle Wayne Beverly Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph Brittany Eugene "
          "Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori").split()
STREETS = "Oak Elm Maple Cedar Pine Lake Hill Main Park Washington River Church Mill Spring Ridge".split()
KINDS = ("family prefix", "family + given", "birth date ISO", "birth date US", "phone", "MRN", "member id",
         "no match")


def _weighted(names: list[str], rng: random.Random) -> str:
    # Zipf-like: the n-th name is about 1/(n+10) as common as the first.
    weights = _weighted.cache.setdefault(id(names), [1 / (n + 10) for n in range(len(names))])
    return rng.choices(names, weights)[0]


_weighted.cache = {}


# -- the data ------------------------------------------------------------------------------------


def _patient(n: int, rng: random.Random, mrn_system: str, restricted: bool) -> tuple[dict, dict | None]:
    family, given = _weighted(FAMILIES, rng), _weighted(GIVENS, rng)
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 33_000))
    phone = f"{rng.randrange(201, 990)}-{rng.randrange(200, 999)}-{rng.randrange(0, 10_000):04d}"
    patient_id = f"ta-{n:06d}"
    patient = {
        "resourceType": "Patient", "id": patient_id, "active": True,
        "identifier": [{"use": "usual", "system": mrn_system, "value": f"MRN{500_000 + n}",
                        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                             "code": "MR"}]}}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": rng.choice(("female", "male")), "birthDate": born.isoformat(),
        "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
        "address": [{"use": "home", "line": [f"{rng.randrange(1, 9999)} {rng.choice(STREETS)} St"],
                     "city": "Springfield", "state": "IL", "postalCode": f"627{rng.randrange(0, 100):02d}"}],
    }
    if restricted:
        patient["meta"] = {"security": [{"system": CONFIDENTIALITY, "code": "R"}]}
    coverage = None
    if n % 2 == 0:
        member = f"M{rng.randrange(10**8, 10**9)}"
        coverage = {
            "resourceType": "Coverage", "id": f"{patient_id}-cov", "status": "active",
            "identifier": [{"system": "urn:mederi:member-id", "value": member}], "subscriberId": member,
            "beneficiary": {"reference": f"Patient/{patient_id}"}, "payor": [{"reference": "Organization/ta-payer"}],
            "order": 1,
        }
    return patient, coverage


def generate_files(first: int, count: int, mrn_system: str) -> list[Path]:
    """NDJSON files of `count` patients numbered from `first` (about half with a Coverage)."""
    GENERATED.mkdir(parents=True, exist_ok=True)
    files = []
    payer = {"resourceType": "Organization", "id": "ta-payer", "active": True, "name": "Bench Health",
             "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                   "code": "pay"}]}]}
    for start in range(first, first + count, PER_FILE):
        path = GENERATED / f"patients-{start:06d}.ndjson"
        rng = random.Random(start)
        lines = [json.dumps(payer)] if start == first else []
        for n in range(start, min(start + PER_FILE, first + count)):
            patient, coverage = _patient(n, rng, mrn_system, restricted=n % 10_000 == 7)
            lines.append(json.dumps(patient))
            if coverage:
                lines.append(json.dumps(coverage))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def patient_count() -> int:
    from mederi.fhir.models import Resource

    return Resource.objects.filter(resource_type="Patient", deleted=False).count()


def ensure_patients(wanted: int, jobs: int, quiet: bool) -> None:
    from tqdm import tqdm

    from mederi.core import systems
    from mederi.core.context import Context
    from mederi.fhir import services
    from mederi.fhir.models import Resource

    have = patient_count()
    if have >= wanted:
        print(f"{have} patients in the database: using them", file=sys.stderr)
        return
    taken = Resource.objects.filter(resource_type="Patient", logical_id__startswith="ta-").count()
    files = generate_files(taken, wanted - have, systems.mrn_system())
    bar = tqdm(total=wanted - have, unit="patient", disable=quiet, file=sys.stderr, desc="adding patients")
    started = time.perf_counter()

    def on_file(path, report):
        bar.update(min(PER_FILE, wanted - have - bar.n))
        if report.error:
            tqdm.write(f"FAILED {path.name}: {report.error}", file=sys.stderr)

    report = services.import_paths(files, Context.system("benchmark typeahead"), on_file=on_file, jobs=jobs)
    bar.close()
    for path in files:
        path.unlink(missing_ok=True)
    print(f"added {wanted - have} patients ({report.resources} resources) in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    if report.failed:
        sys.exit(f"error: {len(report.failed)} files failed to import")


# -- the texts -----------------------------------------------------------------------------------


def sample_texts(per_kind: int, seed: int = 4) -> dict[str, list[str]]:
    """Texts of each kind, taken from stored patients (read directly: this is the benchmark's own setup)."""
    from django.db import connection

    from mederi.core import systems

    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM fhir_resource WHERE resource_type = 'Patient'")
        top = cursor.fetchone()[0] or 0
        picks = sorted(rng.sample(range(1, top + 1), min(top, per_kind * 6)))
        cursor.execute("SELECT logical_id, content FROM fhir_resource WHERE resource_type = 'Patient' AND deleted = "
                       f"%s AND id IN ({', '.join(['%s'] * len(picks))})", [False, *picks])
        patients = [json.loads(content) for _, content in cursor.fetchall()]
        cursor.execute("SELECT content FROM fhir_resource WHERE resource_type = 'Coverage' AND deleted = %s "
                       "ORDER BY id LIMIT %s", [False, per_kind * 20])
        members = [c.get("subscriberId") for c in (json.loads(row[0]) for row in cursor.fetchall())]
    patients = [p for p in patients if p.get("name") and not (p.get("meta") or {}).get("security")]
    rng.shuffle(patients)
    texts: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for p in patients:
        name = p["name"][0]
        family, given = name.get("family") or "", (name.get("given") or [""])[0]
        phone = next((t["value"] for t in p.get("telecom") or () if t.get("system") == "phone"), None)
        mrn = next((i["value"] for i in p.get("identifier") or () if i.get("system") == systems.mrn_system()), None)
        born = p.get("birthDate")
        if len(family) >= 3:
            texts["family prefix"].append(family[:3].lower())
        if family and given:
            texts["family + given"].append(f"{family[:rng.randint(3, len(family))]} {given[:2]}".lower())
        if born and len(born) == 10:
            texts["birth date ISO"].append(born)
            texts["birth date US"].append(f"{born[5:7]}/{born[8:10]}/{born[:4]}")
        if phone:
            digits = "".join(ch for ch in phone if ch.isdigit())[-10:]
            if len(digits) == 10:
                texts["phone"].append(f"({digits[:3]}) {digits[3:6]}-{digits[6:]}")
        if mrn:
            texts["MRN"].append(mrn)
    texts["member id"] = [m for m in members if m][: per_kind * 4]
    texts["no match"] = [f"zq{rng.choice('abcdefgh')}{rng.choice('xyzw')}" for _ in range(per_kind)]
    return {kind: (values * (per_kind // max(len(values), 1) + 1))[:per_kind] if values else []
            for kind, values in texts.items()}


# -- measuring -----------------------------------------------------------------------------------


def _stats(samples: list[float]) -> dict:
    return summary_ms(samples, digits=2)


def desk_user():
    """The front-desk account the benchmark searches as (roles from the shipped front_desk role)."""
    return staff_user("bench-desk", "Bench Desk")


def desk_context():
    from mederi.accounts.context import context_for_user

    return context_for_user(desk_user(), "127.0.0.1")


def desk_client():
    from django.test import Client

    client = Client()
    client.force_login(desk_user())
    return client


def measure(texts: dict[str, list[str]], rounds_warm: int = 3) -> dict:
    from mederi.patients import selectors

    context = desk_context()
    client = desk_client()
    results = {}
    for kind, values in texts.items():
        if not values:
            continue
        for text in values[:rounds_warm]:  # warm caches and prepared plans
            selectors.typeahead(context, text)
        selector_ms, page_ms, hits = [], [], []
        for text in values:
            started = time.perf_counter()
            found = selectors.typeahead(context, text)
            selector_ms.append((time.perf_counter() - started) * 1000)
            hits.append(len(found))
            started = time.perf_counter()
            response = client.get("/patients/", {"q": text}, headers={"HX-Request": "true"})
            page_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                sys.exit(f"error: the search page answered {response.status_code} for {text!r}")
        results[kind] = {"selector": _stats(selector_ms), "page": _stats(page_ms),
                         "mean_hits": round(sum(hits) / len(hits), 1), "example": values[0]}
    return results


def explain(text: str) -> None:
    """Print the SQL and the plan of every search one text makes."""
    from django.db import connection

    from mederi.patients import selectors

    context = desk_context()
    statements: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, ctx):
        statements.append((sql, params))
        return execute(sql, params, many, ctx)

    with connection.execute_wrapper(capture):
        selectors.typeahead(context, text)
    for sql, params in statements:
        if not sql.lstrip().upper().startswith("SELECT") or "audit_entry" in sql:
            continue
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            took = (time.perf_counter() - started) * 1000
            cursor.execute(prefix + sql, params)
            rows = cursor.fetchall()
        print(f"\n-- {took:.1f} ms\n{sql}\n{list(params or ())}")
        for row in rows:
            print("   ", " | ".join(str(c) for c in row))


def configure(postgres: str | None, sqlite_file: Path = SQLITE_FILE) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")
    os.environ.pop("MEDERI_UNSAFE_NO_SECURITY", None)
    if postgres:
        os.environ["DATABASE_URL"] = postgres
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings

    if postgres:  # the database must exist: create it when it does not
        import psycopg

        try:
            psycopg.connect(postgres).close()
        except psycopg.OperationalError:
            from urllib.parse import urlparse, urlunparse

            parts = urlparse(postgres)
            with psycopg.connect(urlunparse(parts._replace(path="/postgres")), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')
        return "postgresql"
    sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    settings.DATABASES["default"]["NAME"] = sqlite_file  # before the first connection opens
    return "sqlite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (its own database, created if missing)")
    parser.add_argument("--sqlite", type=Path, default=SQLITE_FILE,
                        help=f"the SQLite file (default {SQLITE_FILE.relative_to(BENCH_DIR.parent.parent)}; "
                             "make_frontdesk_dataset.py builds the same one)")
    parser.add_argument("--patients", type=int, default=100_000, help="at least this many patients (default 100000)")
    parser.add_argument("--queries", type=int, default=200, help="texts per kind (default 200)")
    parser.add_argument("--jobs", type=int, default=2, help="import processes when adding patients")
    parser.add_argument("--explain", metavar="TEXT", help="print the query plans of one text and stop")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()

    engine = configure(args.postgres, args.sqlite)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    ensure_patients(args.patients, args.jobs, args.quiet)
    if args.explain:
        explain(args.explain)
        return
    texts = sample_texts(args.queries)
    results = measure(texts)
    from mederi.audit import services as audit

    audit.flush_buffered()
    print(f"\npatient typeahead, {engine}, {patient_count()} patients (target < {TARGET_MS:.0f} ms server time)")
    print(f"{'kind':<16} {'example':<22} {'hits':>5} {'selector median':>16} {'p95':>8} {'page median':>12} "
          f"{'p95':>8}")
    slow = []
    for kind, row in results.items():
        s, p = row["selector"], row["page"]
        print(f"{kind:<16} {row['example'][:22]:<22} {row['mean_hits']:>5} {s['median_ms']:>13.1f} ms "
              f"{s['p95_ms']:>5.1f} ms {p['median_ms']:>9.1f} ms {p['p95_ms']:>5.1f} ms")
        if p["p95_ms"] > TARGET_MS:
            slow.append(kind)
    out = BENCH_DIR / f"typeahead-{engine}.json"
    out.write_text(json.dumps({"engine": engine, "patients": patient_count(), "queries_per_kind": args.queries,
                               "target_ms": TARGET_MS, "results": results, "machine": machine()}, indent=2))
    print(f"\nwritten to {out}" + (f"; over target at p95: {', '.join(slow)}" if slow else "; all within target"))


if __name__ == "__main__":
    main()
