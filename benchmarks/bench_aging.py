"""A/R aging over 1,000,000 ledger postings (target on PostgreSQL: under 2 s).

The script drops and makes the PostgreSQL database given, migrates the ledger, and writes the rows
straight into its tables with COPY (not through the posting service: the point is the report):
500,000 balanced transactions over 20 payers and 20,000 patients, dates of service spread over
the last 400 days, each a receivable posting and its revenue or cash counterpart = 1,000,000
postings. It then times `ledger.selectors.aging` by payer and by patient.

    .venv/bin/python benchmarks/bench_aging.py --postgres postgres://postgres@127.0.0.1:5432/aging_bench

Results: var/bench/aging.json and a line on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, ROOT, fresh_database, machine, summary_ms, timed  # noqa: E402

sys.path.insert(0, str(ROOT))
AS_OF = dt.date(2026, 11, 30)


def _fill(transactions: int, payers: int, patients: int) -> int:
    from django.db import connection

    randomly = random.Random(835)
    accounts = [("practice:revenue", "revenue", ""), ("practice:cash", "cash", "")]
    accounts += [(f"payer:payer-{n}", "payer", f"payer-{n}") for n in range(payers)]
    accounts += [(f"patient:pat-{n}", "patient", f"pat-{n}") for n in range(patients)]
    raw = connection.connection
    with raw.cursor() as cursor:
        with cursor.copy("COPY ledger_account (id, key, kind, party_id, name, balance_cents) FROM STDIN") as copy:
            for pk, (key, kind, party) in enumerate(accounts, start=1):
                copy.write_row((pk, key, kind, party, "", 0))
        with cursor.copy("COPY ledger_transaction (id, kind, source_type, source_id, reason_code, memo, "
                         "effective_date, posted_at, posted_by) FROM STDIN") as copy:
            posted = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)
            for pk in range(1, transactions + 1):
                copy.write_row((pk, "charge", "bench", str(pk), "", "", AS_OF, posted, "bench"))
        rows = 0
        with cursor.copy("COPY ledger_posting (transaction_id, account_id, amount_cents, service_date, claim_number, "
                         "group_code, reason_code) FROM STDIN") as copy:
            for pk in range(1, transactions + 1):
                day = AS_OF - dt.timedelta(days=randomly.randrange(400))
                if randomly.random() < 0.7:  # a charge to a payer, or a payment against one
                    account = 3 + randomly.randrange(payers)
                else:
                    account = 3 + payers + randomly.randrange(patients)
                cents = randomly.randrange(1_000, 50_000) * (1 if randomly.random() < 0.75 else -1)
                other = 1 if cents > 0 else 2
                copy.write_row((pk, account, cents, day, f"C{pk:09d}", "", ""))
                copy.write_row((pk, other, -cents, day, f"C{pk:09d}", "", ""))
                rows += 2
        cursor.execute("UPDATE ledger_account a SET balance_cents = s.total FROM (SELECT account_id, SUM(amount_cents) "
                       "AS total FROM ledger_posting GROUP BY account_id) s WHERE a.id = s.account_id")
        for table in ("ledger_account", "ledger_transaction"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        cursor.execute("ANALYZE")
    raw.commit()
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="a PostgreSQL database URL (dropped and made again)")
    parser.add_argument("--transactions", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    fresh_database("aging", args.postgres)

    from mederi.billing.ledger import selectors

    started = time.perf_counter()
    rows = _fill(args.transactions, 20, 20_000)
    fill_s = time.perf_counter() - started
    by_payer = summary_ms(timed(lambda _: selectors.aging("payer", AS_OF), args.runs, warmup=1)[0])
    by_patient = summary_ms(timed(lambda _: selectors.aging("patient", AS_OF), args.runs, warmup=1)[0])
    report = {"engine": "postgresql", "postings": rows, "fill_seconds": round(fill_s, 1), "aging_by_payer": by_payer,
              "aging_by_patient": by_patient, "machine": machine()}
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "aging.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(f"postgresql: {rows} postings written in {fill_s:.1f} s; A/R aging by payer median "
          f"{by_payer['median_ms']} ms, by patient median {by_patient['median_ms']} ms")


if __name__ == "__main__":
    main()
