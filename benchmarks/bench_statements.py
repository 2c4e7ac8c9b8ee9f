"""Statement run speed: statements (PDF drawn, Invoice written to the record) per second for patients who owe.

The script makes a fresh database (var/bench/statements/ on SQLite, or the PostgreSQL database given,
which it drops and creates), stores N patients, each with a submitted Claim of two lines whose charge,
insurance payment, contractual adjustment and coinsurance are posted to the ledger, then times
`make_run` over all of them: for each patient the record is read (patient, guarantor, claims, the
practice), the ledger summed per claim and aged, the PDF drawn and the Invoice written.

    .venv/bin/python benchmarks/bench_statements.py [--patients 500] [--postgres postgres://.../statements_bench]

Results: var/bench/statements.json and a line on stdout (wall clock and the process's CPU time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal as D
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, ROOT, fresh_database, machine  # noqa: E402

sys.path.insert(0, str(ROOT))


def _practice(patients: int) -> None:
    from mederi.billing import claim_status
    from mederi.billing.ledger import services as ledger
    from mederi.core import systems
    from mederi.core.context import Context
    from mederi.fhir.repository import Repository

    repository = Repository(Context.system("bench"))
    day = dt.date(2026, 2, 10)
    with repository.atomic():
        repository.update("Organization", "practice", {
            "resourceType": "Organization", "id": "practice", "name": "Riverside Family Medicine",
            "type": [{"coding": [{"system": systems.ORGANIZATION_TYPE, "code": "prov"}]}],
            "address": [{"line": ["100 Main Street"], "city": "Springfield", "state": "IL", "postalCode": "62701"}]})
        for n in range(patients):
            repository.create({"resourceType": "Patient", "name": [{"family": f"Doe{n}", "given": ["Pat"]}],
                               "address": [{"line": [f"{n} Elm Street"], "city": "Springfield", "state": "IL",
                                            "postalCode": "62701"}]}, logical_id=f"pat-{n}")
            number = f"C{n:09d}"
            items = [{"sequence": s, "productOrService": {"coding": [{"system": systems.CPT, "code": code}]},
                      "servicedDate": day.isoformat(), "net": {"value": D(net), "currency": "USD"}}
                     for s, (code, net) in enumerate((("99213", "150.00"), ("36415", "30.00")), start=1)]
            repository.create(claim_status.set_status({
                "resourceType": "Claim", "status": "active", "use": "claim", "created": "2026-02-10T12:00:00+00:00",
                "identifier": [{"system": systems.CLAIM_NUMBER, "value": number}],
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                     "code": "professional"}]},
                "patient": {"reference": f"Patient/pat-{n}"},
                "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority",
                                         "code": "normal"}]},
                "provider": {"reference": "Organization/practice"},
                "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Acme"}}],
                "item": items, "total": {"value": D("180.00"), "currency": "USD"},
                "billablePeriod": {"start": day.isoformat(), "end": day.isoformat()}}, claim_status.PAID))
    drafts = []
    for n in range(patients):
        number = f"C{n:09d}"
        drafts.append(ledger.charge_draft(number, f"pat-{n}", "payer-acme", D("180.00"), day))
        drafts.append(ledger.Draft("insurance_payment", "remittance-claim", number, [
            ledger.Entry(ledger.CASH, D("120.00"), day, number),
            ledger.Entry(ledger.CONTRACTUAL, D("40.00"), day, number, "CO", "45"),
            ledger.Entry(ledger.patient_account(f"pat-{n}"), D("20.00"), day, number, "PR", "2"),
            ledger.Entry(ledger.payer_account("payer-acme"), D("-180.00"), day, number)],
            source_key=f"bench:{number}"))
    ledger.post_many(drafts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is dropped and created)")
    args = parser.parse_args()
    engine = fresh_database("statements", args.postgres)
    _practice(args.patients)
    from mederi.billing.patient_billing.statements import make_run, start_run
    from mederi.core.context import Context

    context = Context.system("bench")
    run = start_run(context, "1.00", dt.date(2026, 3, 10), queue=False)
    wall, cpu = time.perf_counter(), time.process_time()
    run = make_run(run.pk, context)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {"engine": engine, "patients": args.patients, "made": run.made, "problems": run.problems[:3],
              "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
              "statements_per_second": round(run.made / wall, 1), "machine": machine()}
    (BENCH_DIR / "statements.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"{engine}: {run.made} statements in {wall:.1f} s ({run.made / wall:.1f}/s, CPU {cpu:.1f} s)")


if __name__ == "__main__":
    main()
