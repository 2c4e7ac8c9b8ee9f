"""The AI scribe's drafts against ACI-Bench reference notes: ROUGE-1/2/L as the ACI-Bench paper reports them.

    .venv/bin/python benchmarks/eval_scribe.py [--split valid|train] [--data ../shared/data/scribe]

Each visit's transcript ("[doctor] ..." lines) is turned into turns and drafted by the offline engine
(mederi.ai.scribe.drafting.draft_note); the full note (section headings and text) is scored against the
reference note with the `rouge-score` package, Porter stemming on, and the F1 of each note averaged over
the notes (the paper's aggregation). Two baselines are scored the same way on the same split:

* transcript: the transcript copied whole as the note;
* retrieval: the reference note of the train visit whose transcript is most similar (TF-IDF cosine) —
  for the train split, the most similar *other* train visit.

The engine and its word lists were developed by looking at the train split only; valid is held out.
Results: var/bench/scribe.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")

import django  # noqa: E402
from rouge_score import rouge_scorer, tokenizers  # noqa: E402

django.setup()

from mederi.ai.scribe import extract, sections, selection  # noqa: E402
from mederi.ai.scribe.drafting import draft_note, parse_transcript, speaker_of  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "scribe"
METRICS = ("rouge1", "rouge2", "rougeL")


def read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def scores(generated: list[str], references: list[str]) -> dict[str, float]:
    """Mean over notes of each note's ROUGE F1, in percent."""
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    per_note = [scorer.score(reference, text) for text, reference in zip(generated, references, strict=True)]
    return {metric: round(100 * statistics.mean(s[metric].fmeasure for s in per_note), 2) for metric in METRICS}


def _vector(text: str, idf: dict[str, float]) -> dict[str, float]:
    counts = Counter(re.findall(r"[a-z0-9]+", text.lower()))
    vector = {word: count * idf.get(word, 0.0) for word, count in counts.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {word: value / norm for word, value in vector.items()}


def retrieval_notes(train: list[dict], visits: list[dict]) -> list[str]:
    """For each visit, the train note whose transcript is nearest by TF-IDF cosine (never the visit itself)."""
    documents = [set(re.findall(r"[a-z0-9]+", row["dialogue"].lower())) for row in train]
    frequency = Counter(word for words in documents for word in words)
    idf = {word: math.log(len(train) / count) + 1 for word, count in frequency.items()}
    train_vectors = [_vector(row["dialogue"], idf) for row in train]
    notes = []
    for visit in visits:
        vector = _vector(visit["dialogue"], idf)
        best = max((sum(weight * other.get(word, 0.0) for word, weight in vector.items()), index)
                   for index, other in enumerate(train_vectors)
                   if train[index]["encounter_id"] != visit["encounter_id"])
        notes.append(train[best[1]]["note"])
    return notes


FOLDS = 5
THRESHOLDS = [round(0.3 + 0.025 * step, 3) for step in range(13)]  # 0.3 .. 0.6


def learn(train: list[dict]) -> dict:
    """Fit the sentence selection model on the train split; its threshold is the one whose notes score
    best when every visit is drafted by a model fitted without it (5-fold cross-fitting)."""
    tokenize = tokenizers.DefaultTokenizer(use_stemmer=True).tokenize
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    visits = []
    for row in train:
        turns = [(speaker_of(speaker), text) for speaker, text in parse_transcript(row["dialogue"])]
        units = extract.sentences(turns)
        findings = extract.find(turns, units)
        candidates = sections.candidates(units, sections.patient_sex(units), turns)
        reference = set(tokenize(row["note"]))
        examples = [(selection.features(c), selection.target(c, reference, tokenize)) for c in candidates]
        visits.append((turns, units, findings, examples, row["note"]))
    order = list(range(len(visits)))
    random.Random(7).shuffle(order)
    folds = [order[part::FOLDS] for part in range(FOLDS)]
    scores_by_threshold = {threshold: [] for threshold in THRESHOLDS}
    for held in folds:
        weights = selection.fit([e for i in order if i not in held for e in visits[i][3]])
        for i in held:
            turns, units, findings, _, note = visits[i]
            for threshold in THRESHOLDS:
                text = sections.render(sections.build(units, findings, turns, {"weights": weights,
                                                                               "threshold": threshold}))
                scores_by_threshold[threshold].append(scorer.score(note, text)["rouge1"].fmeasure)
    cross_fitted = {t: round(100 * statistics.mean(v), 2) for t, v in scores_by_threshold.items()}
    threshold = max(cross_fitted, key=cross_fitted.get)
    print(f"cross-fitted ROUGE-1 on train by threshold: {cross_fitted}")
    return {"threshold": threshold, "fitted_on": "ACI-Bench train split", "cross_fitted_rouge1": cross_fitted[threshold],
            "weights": selection.fit([e for visit in visits for e in visit[3]])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("valid", "train"), default="valid")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--engine-only", action="store_true", help="skip the two baselines")
    parser.add_argument("--learn", action="store_true", help=f"refit {selection.MODEL_FILE.name} on the train split")
    args = parser.parse_args()
    train = read(args.data / "aci-bench-train.csv")
    if args.learn:
        model = learn(train)
        selection.MODEL_FILE.write_text(json.dumps(model, sort_keys=True, separators=(",", ":")))
        print(f"wrote {selection.MODEL_FILE} (threshold {model['threshold']}, {len(model['weights'])} weights)")
        return
    visits = train if args.split == "train" else read(args.data / "aci-bench-valid.csv")
    references = [visit["note"] for visit in visits]

    seconds, drafts = [], []
    for visit in visits:
        started = time.perf_counter()
        drafts.append(draft_note(parse_transcript(visit["dialogue"])).text())
        seconds.append(time.perf_counter() - started)
    results = {
        "split": args.split, "notes": len(visits),
        "engine": scores(drafts, references),
    }
    if not args.engine_only:
        results["transcript"] = scores([visit["dialogue"] for visit in visits], references)
        results["retrieval"] = scores(retrieval_notes(train, visits), references)
    results |= {
        # the first draft also builds the code tables (once per process)
        "seconds_per_draft": {"first": round(seconds[0], 2), "median": round(statistics.median(seconds[1:]), 3),
                              "max_after_first": round(max(seconds[1:]), 3)},
        "words": {"draft_mean": round(statistics.mean(len(d.split()) for d in drafts)),
                  "reference_mean": round(statistics.mean(len(r.split()) for r in references))},
    }
    out = ROOT / "var" / "bench" / "scribe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"ACI-Bench {args.split} ({len(visits)} notes), mean per-note F1 x 100, stemming on")
    for name in ("engine", "retrieval", "transcript"):
        if name not in results:
            continue
        row = results[name]
        print(f"  {name:<11} ROUGE-1 {row['rouge1']:6.2f}  ROUGE-2 {row['rouge2']:6.2f}  ROUGE-L {row['rougeL']:6.2f}")
    print(f"  seconds per draft: {results['seconds_per_draft']}; words: {results['words']}")


if __name__ == "__main__":
    main()
