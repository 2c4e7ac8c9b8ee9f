"""837P generation speed: 10,000 professional claims written as X12 005010X222A1 (target: 2,000 claims/s).

The claims are a mix of the shapes a practice sends (one to four lines, modifiers, dependents,
secondary claims with the primary's payment, accidents, prior authorizations), built in memory
as `ClaimData`; the timer covers writing the batch file (segments, envelope, control numbers),
split into transaction sets of 5,000 claims as the guide recommends.

    .venv/bin/python benchmarks/bench_claims.py [--claims 10000] [--rounds 3]

Results: var/bench/claims.json and a line on stdout.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import sys
import time
from decimal import Decimal as D
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mederi.billing.claims import x837  # noqa: E402

DOS = dt.date(2026, 11, 2)
ADDRESS = x837.Address("12 ELM STREET", "SPRINGFIELD", "IL", "627011234")
BILLING = x837.Provider("SPRINGFIELD FAMILY MEDICINE", "1612345672", taxonomy="207Q00000X", tax_id="123456789",
                        address=x837.Address("100 MAIN STREET", "SPRINGFIELD", "IL", "627015555"))
RENDERING = x837.Provider("SMITH", "1234567893", first_name="ANNA")
CODES = [("99213", "120.00", []), ("99214", "160.00", ["25"]), ("20610", "210.00", ["RT", "59", "XS", "76"]),
         ("36415", "15.00", []), ("J1885", "24.00", [])]


def make_claim(number: int) -> x837.ClaimData:
    lines = []
    for position in range(1 + number % 4):
        code, price, modifiers = CODES[(number + position) % len(CODES)]
        lines.append(x837.ServiceLine(code, D(price), DOS, units=D(1 + position % 2), modifiers=list(modifiers),
                                      pointers=[1, 2][: 1 + position % 2],
                                      control_number=f"C{number:09d}-{position + 1}"))
    claim = x837.ClaimData(f"C{number:09d}", BILLING, "ACME HEALTH", "ACME1",
                           x837.Person("DOE", f"PAT{number}", dt.date(1980, 5, 1), "F", ADDRESS, f"M{number:08d}"),
                           ["I10", "E11.9"], lines, rendering=RENDERING)
    if number % 5 == 1:
        claim.patient = x837.Person("DOE", f"KID{number}", dt.date(2015, 3, 9), "M", ADDRESS)
        claim.relationship = "19"
    if number % 7 == 2:
        claim.responsibility = "S"
        claim.other_payer = x837.OtherPayer("BIG STATE PLAN", "BSP01", copy.copy(claim.subscriber), paid=D("50.00"),
                                            adjudicated=DOS, adjustments=[x837.Adjustment("PR", "2", D("10.00"))])
    if number % 11 == 3:
        claim.accident = x837.Accident("AA", DOS, "IL")
    if number % 13 == 4:
        claim.prior_authorization = f"PA{number}"
    return claim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    claims = [make_claim(n) for n in range(1, args.claims + 1)]
    submitter = x837.Submitter("SPRINGFIELD FAMILY MEDICINE", "SFM01", "BILLING OFFICE", "2175551234")
    timings, size = [], 0
    for round_number in range(1, args.rounds + 1):
        started = time.perf_counter()
        text = x837.write_837(claims, submitter=submitter, receiver_name="GATEWAY", receiver_id="GW01",
                              sender_id="SFM01", interchange_receiver_id="GW01", control_number=round_number,
                              when=dt.datetime(2026, 11, 3, 9, 30))
        timings.append(time.perf_counter() - started)
        size = len(text)
    best = min(timings)
    result = {"claims": args.claims, "rounds": [round(t, 3) for t in timings], "best_seconds": round(best, 3),
              "claims_per_second": round(args.claims / best), "file_bytes": size}
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "claims.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"837P: {args.claims} claims in {best:.2f} s (best of {args.rounds}) = {result['claims_per_second']:,} "
          f"claims/s, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
