"""835 posting speed: one remittance of 10,000 claim payments posted to the ledger (target: 2,000 claims/s).

The script makes a fresh database (var/bench/remit/ on SQLite, or the PostgreSQL database given,
which it drops and creates), stores 10,000 submitted Claims for 1,000 patients through the repository,
posts each one's charge as sending it does (`claim_charges`; with --charges-at-835 it does not, and the
posting charges them, as for claims sent before charges were posted at sending), writes an 835 paying them (one or two lines each, contractual and patient-share adjustments, a
denial now and then, two provider-level adjustments), and times `post_remittance`: parsing,
matching every claim and line, ledger postings, the ClaimResponses, the PaymentReconciliation and
the claims' new status, in one transaction. It then posts the same remittance again (another file,
same trace) and times the no-op.

    .venv/bin/python benchmarks/bench_remit.py [--claims 10000] [--postgres postgres://.../remit_bench]
        [--charges-at-835] [--profile var/bench/remit.prof]

Results: var/bench/remit.json and a line on stdout. Besides the wall-clock time the report gives the
process's own CPU time for the posting (time.process_time), which a busy shared machine disturbs less.
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


def _practice(claims: int, patients: int, charge_at_sending: bool) -> None:
    from mederi.billing import claim_charges, claim_status
    from mederi.billing.ledger import services as ledger
    from mederi.billing.remittance.matching import ClaimMatch
    from mederi.core import systems
    from mederi.core.context import Context
    from mederi.fhir.repository import Repository

    repository = Repository(Context.system("bench"))
    with repository.atomic():
        repository.update("Organization", "payer-acme", {
            "resourceType": "Organization", "id": "payer-acme", "name": "Acme Health Plan",
            "identifier": [{"system": systems.PAYER_ID, "value": "ACME01"}]})
        for n in range(patients):
            repository.create({"resourceType": "Patient", "name": [{"family": f"Doe{n}", "given": ["Pat"]}]},
                              logical_id=f"pat-{n}")
            repository.create({"resourceType": "Coverage", "status": "active",
                               "beneficiary": {"reference": f"Patient/pat-{n}"},
                               "payor": [{"reference": "Organization/payer-acme"}]}, logical_id=f"cov-{n}")
    for start in range(0, claims, 1000):
        drafts = []
        with repository.atomic():
            for n in range(start, min(start + 1000, claims)):
                number, patient = f"C{n:09d}", n % patients
                lines = [("99213", D("150.00"))] + ([("36415", D("30.00"))] if n % 2 else [])
                claim = {
                    "resourceType": "Claim", "status": "active", "use": "claim", "created": "2026-02-10T12:00:00Z",
                    "identifier": [{"system": systems.CLAIM_NUMBER, "value": number}],
                    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                         "code": "professional"}]},
                    "patient": {"reference": f"Patient/pat-{patient}"},
                    "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority",
                                             "code": "normal"}]},
                    "provider": {"reference": "Organization/payer-acme"},
                    "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/cov-{patient}"}}],
                    "item": [{"sequence": i, "productOrService": {"coding": [{"system": systems.CPT, "code": code}]},
                              "net": {"value": net, "currency": "USD"}} for i, (code, net) in enumerate(lines, 1)],
                    "total": {"value": sum(net for _, net in lines), "currency": "USD"},
                    "billablePeriod": {"start": "2026-02-10", "end": "2026-02-10"},
                }
                stored = repository.create(claim_status.set_status(claim, claim_status.SUBMITTED),
                                           logical_id=f"claim-{n}").stored
                if charge_at_sending:
                    drafts += claim_charges.drafts_for(repository, ClaimMatch(stored.as_dict(), "payer-acme"),
                                                       "payer-acme")[0]
        ledger.post_many_ids(drafts)


def _remittance(claims: int, control: int) -> str:
    from mederi.billing.x12.remittance import Adjustment, ClaimPayment, ProviderAdjustment, Remittance, ServiceLine
    from mederi.billing.x12.remittance_writer import build_835

    day = dt.date(2026, 2, 10)
    payments = []
    for n in range(claims):
        number = f"C{n:09d}"
        if n % 20 == 7:  # a denial now and then
            lines = [ServiceLine("99213", D("150.00"), D("0"), control_number=f"{number}-1", service_start=day,
                                 service_end=day, adjustments=[Adjustment("CO", "197", D("150.00"))])]
        else:
            lines = [ServiceLine("99213", D("150.00"), D("100.00"), control_number=f"{number}-1", service_start=day,
                                 service_end=day, adjustments=[Adjustment("CO", "45", D("30.00")),
                                                               Adjustment("PR", "2", D("20.00"))])]
        if n % 2:
            lines.append(ServiceLine("36415", D("30.00"), D("20.00"), control_number=f"{number}-2",
                                     service_start=day, service_end=day,
                                     adjustments=[Adjustment("CO", "45", D("10.00"))]))
        paid = sum((line.paid for line in lines), D("0"))
        payments.append(ClaimPayment(number, "4" if not paid else "1", sum((line.charge for line in lines), D("0")),
                                     paid, patient_last=f"DOE{n}", patient_member_id=f"M{n}", lines=lines))
    adjustments = [ProviderAdjustment("1612345672", dt.date(2026, 12, 31), "WO", "C000000001", D("25.00")),
                   ProviderAdjustment("1612345672", dt.date(2026, 12, 31), "L6", "", D("-3.10"))]
    remittance = Remittance("0001", "I", D("0"), "ACH", dt.date(2026, 3, 2), "EFT-BENCH-1", "1999999999",
                            payer_name="ACME HEALTH PLAN", payer_id="ACME01", payee_name="BENCH PRACTICE",
                            claims=payments, provider_adjustments=adjustments)
    remittance.total = remittance.claims_paid - remittance.provider_adjusted
    return build_835(remittance, control_number=control)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--patients", type=int, default=1_000)
    parser.add_argument("--postgres", help="a PostgreSQL database URL to use (it is dropped and made again)")
    parser.add_argument("--charges-at-835", action="store_true",
                        help="leave the claims uncharged, so that the posting charges them")
    parser.add_argument("--profile", help="write a cProfile of the timed posting to this file")
    args = parser.parse_args(argv)
    engine = fresh_database("remit", args.postgres)

    from mederi.billing.ledger.models import Posting
    from mederi.billing.remittance.posting import post_remittance
    from mederi.core.context import Context

    started = time.perf_counter()
    _practice(args.claims, args.patients, charge_at_sending=not args.charges_at_835)
    setup_s = time.perf_counter() - started
    text = _remittance(args.claims, 1)
    context = Context.system("bench")
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: others share the machine
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = post_remittance(context, text, name="bench.835")
    post_s, post_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    started = time.perf_counter()
    again = post_remittance(context, _remittance(args.claims, 2), name="bench-resent.835")
    again_s = time.perf_counter() - started
    assert result.claims_posted == args.claims and again.claims_posted == 0, (result.summary(), again.summary())
    report = {
        "engine": engine, "claims": args.claims, "charged_at": "835" if args.charges_at_835 else "sending",
        "file_bytes": len(text), "postings": Posting.objects.count(), "queued": result.queued,
        "post_seconds": round(post_s, 2), "claims_per_second": round(args.claims / post_s),
        "post_cpu_seconds": round(post_cpu_s, 2), "claims_per_cpu_second": round(args.claims / post_cpu_s),
        "repost_seconds": round(again_s, 2), "setup_seconds": round(setup_s, 1), "machine": machine(),
    }
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "remit.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(f"{report['engine']}: posted {args.claims} claim payments ({report['postings']} postings) in "
          f"{post_s:.2f} s = {report['claims_per_second']} claims/s (CPU {post_cpu_s:.2f} s = "
          f"{report['claims_per_cpu_second']} claims/s); the same remittance again: {again_s:.2f} s")


if __name__ == "__main__":
    main()
