"""Accuracy of the front-desk agent on its held-out test set, end to end.

    .venv/bin/python benchmarks/eval_agent.py [--postgres postgres://...] [--show-errors]

The test set (mederi/ai/agent/testset/messages.jsonl: message, channel, expected intent, expected
outcome) was written apart from the training messages the classifier learns from
(mederi/ai/agent/training.jsonl) and is not used to tune it. Each message goes through the agent in a
fresh conversation of a patient with a booked follow-up (mederi/ai/agent/evaluation.py) on an empty,
migrated database. Reports intent accuracy, outcome accuracy, accuracy per expected intent and the
confusions, with the mean time per message (the machine is shared: see `uptime`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import fresh_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (the database is dropped and created again)")
    parser.add_argument("--show-errors", action="store_true", help="list every message the agent got wrong")
    args = parser.parse_args()
    os.environ["MEDERI_LLM_URL"] = ""  # the offline engine
    engine = fresh_database("eval_agent", args.postgres)
    from mederi.ai.agent import evaluation

    evaluation.make_practice()
    result = evaluation.run()
    print(f"database: {engine}; load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"messages: {len(result.rows)}")
    print(f"intent accuracy: {result.intent_accuracy:.3f}")
    print(f"outcome accuracy: {result.outcome_accuracy:.3f}")
    for intent, (right, total) in result.by_intent().items():
        print(f"  {intent:<15} {right}/{total}")
    if result.confusions():
        print("confusions (expected -> understood): " + ", ".join(
            f"{a}->{b} x{n}" for (a, b), n in result.confusions().most_common()))
    print(f"mean seconds per message (end to end, with its writes): "
          f"{statistics.mean(r['seconds'] for r in result.rows):.3f}")
    if args.show_errors:
        for row in result.rows:
            if row["intent"] != row["expected_intent"] or row["outcome"] != row["expected_outcome"]:
                print(f"  [{row['expected_intent']}/{row['expected_outcome']} -> {row['intent']}/{row['outcome']}] "
                      f"{row['message']}")


if __name__ == "__main__":
    main()
