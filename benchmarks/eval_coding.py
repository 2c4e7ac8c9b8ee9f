"""Quality of the offline coding engine's ICD-10-CM suggestions on CodiEsp (English translation).

    .venv/bin/python benchmarks/eval_coding.py [--data ../shared/data/coding/codiesp-train-en.jsonl]

The 500 documents are shuffled with a fixed seed and split: the first 400 are the tuning part (the only
part looked at while writing the synonym table and negation triggers), the last 100 the held-out part.
Gold codes are normalised like ours (upper case, with the dot). CodiEsp was coded with an older ICD-10-CM
edition: a code since split into children (R51 headache, now R51.9) counts as found when we suggest its
child, the edition's only difference. Reports, per part: micro precision and
recall of the suggested codes, and MAP (mean over documents of the average precision of the ranked list).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")

import django  # noqa: E402
import simple_icd_10_cm as icd  # noqa: E402

django.setup()

from mederi.ai import coding  # noqa: E402
from mederi.billing.claims import icd10  # noqa: E402

SEED = 7
TUNING = 400
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "coding" / "codiesp-train-en.jsonl"


def load(path: Path) -> tuple[list[dict], list[dict]]:
    documents = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    documents.sort(key=lambda d: d["id"])
    random.Random(SEED).shuffle(documents)
    return documents[:TUNING], documents[TUNING:]


def older_edition(code: str, gold: set[str]) -> str:
    """Our code, or its parent when the gold has the parent and the parent is no longer billable."""
    parent = icd10.dotted(code.replace(".", "")[:-1])
    if code not in gold and parent in gold and icd.is_valid_item(parent) and not icd.is_leaf(parent):
        return parent
    return code


def average_precision(ranked: list[str], gold: set[str]) -> float:
    if not gold:
        return 0.0
    hits, total = 0, 0.0
    for position, code in enumerate(ranked, start=1):
        if code in gold:
            hits += 1
            total += hits / position
    return total / len(gold)


def evaluate(documents: list[dict]) -> dict:
    true_positives = suggested = relevant = 0
    precisions = []
    started = time.perf_counter()
    for document in documents:
        gold = {icd10.dotted(code) for code in document["icd10cm"]}
        ranked = [older_edition(m.code, gold) for m in coding.suggest_codes(document["text"])]
        true_positives += len(set(ranked) & gold)
        suggested += len(ranked)
        relevant += len(gold)
        precisions.append(average_precision(ranked, gold))
    elapsed = time.perf_counter() - started
    return {"documents": len(documents), "precision": round(true_positives / max(suggested, 1), 3),
            "recall": round(true_positives / max(relevant, 1), 3),
            "map": round(sum(precisions) / max(len(precisions), 1), 3),
            "ms_per_document": round(1000 * elapsed / max(len(documents), 1), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    coding.phrase_table()  # built once, not counted in the per-document time
    tuning, held_out = load(args.data)
    results = {"tuning": evaluate(tuning), "held-out": evaluate(held_out)}
    for part, figures in results.items():
        print(f"{part:9} {figures}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
