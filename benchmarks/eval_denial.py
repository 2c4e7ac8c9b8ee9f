"""How well the denial-risk model ranks and calibrates claims it has not seen, against the scrubber's rules alone.

    .venv/bin/python benchmarks/eval_denial.py [--claims-per-day 30] [--seed 1]

The history is SYNTHETIC (mederi/ai/denial/synthetic.py): 18 months of a family practice's claims to four
made-up payers, with denial patterns planted by payer, code, modifier, diagnosis pairing and place of service,
per-payer noise, whole-claim denials, and one payer changing its policy at the split. The model is trained on
the first 12 months of dates of service and evaluated on the last 6 (held out, never seen in training).
Per claim (denied = the payer denied it whole or any line): AUC, Brier score, a calibration table by deciles
of the score (mean predicted vs share denied), for the model and for the scrubber's rules alone (the rule
tables on each claim's lines, calibrated on the same training period).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")

import django  # noqa: E402

django.setup()

from mederi.ai.denial import evaluation, synthetic  # noqa: E402
from mederi.ai.denial.model import train  # noqa: E402

START, SPLIT, END = dt.date(2025, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 7, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims-per-day", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    began = time.perf_counter()
    claims = synthetic.generate(START, END, claims_per_day=args.claims_per_day, seed=args.seed, policy_change=SPLIT)
    history = synthetic.outcomes(claims)
    made = time.perf_counter()
    model = train(history, start=START, end=SPLIT, payer_names=synthetic.payer_names())
    trained = time.perf_counter()
    held_out = [o for o in history if o.day >= SPLIT]
    scored = evaluation.score_claims(model, held_out)
    done = time.perf_counter()
    denied = [s.denied for s in scored]
    combined = [s.probability for s in scored]
    rules = [s.rules_probability for s in scored]
    train_claims = len({o.claim for o in history if o.day < SPLIT})
    print(f"SYNTHETIC history, seed {args.seed}: {len(claims)} claims ({len(history)} lines); trained on "
          f"{train_claims} claims ({model.lines} lines) served {START} to {SPLIT}, evaluated on {len(scored)} claims served {SPLIT} to {END}")
    print(f"held-out claims denied: {sum(denied)} ({sum(denied) / len(denied):.1%})")
    print(f"{'':24}{'AUC':>8}{'Brier':>9}")
    for name, scores in (("rules and history", combined), ("scrubber rules alone", rules)):
        print(f"{name:24}{evaluation.auc(denied, scores):8.3f}{evaluation.brier(denied, scores):9.4f}")
    base = sum(denied) / len(denied)
    print(f"{'always the base rate':24}{0.5:8.3f}{evaluation.brier(denied, [base] * len(denied)):9.4f}")
    print("\ncalibration, deciles of the score (claims, mean predicted, share denied):")
    print(f"{'decile':>6}  {'model: n':>8}{'predicted':>10}{'observed':>10}   {'rules: n':>8}{'predicted':>10}"
          f"{'observed':>10}")
    for k, (a, b) in enumerate(zip(evaluation.calibration(denied, combined), evaluation.calibration(denied, rules),
                                   strict=True), start=1):
        print(f"{k:>6}  {a.claims:>8}{a.predicted:>10.3f}{a.observed:>10.3f}   {b.claims:>8}{b.predicted:>10.3f}"
              f"{b.observed:>10.3f}")
    print(f"\nlearned weights: rules {({k: round(v, 2) for k, v in model.rules_weights.items()})}")
    print(f"history {({k: round(v, 2) for k, v in model.history_weights.items()})}")
    print(f"time: history {made - began:.1f} s, training {trained - made:.1f} s, scoring {done - trained:.1f} s "
          f"({len(scored) / (done - trained):.0f} claims/s)")


if __name__ == "__main__":
    main()
