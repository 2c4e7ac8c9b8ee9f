"""Which transcript sentences make it into the note: a small model learned from reference notes.

A visit says far more than its note keeps. Each candidate sentence (see sections.candidates) is
scored by a logistic regression over plain features — its words, its section, who said it, when in
the visit, how long it is, whether it carries its section's own words — and kept when the score
reaches the model's threshold. The model was fitted on the ACI-Bench train split only (the share of a
sentence's words that the visit's reference note also uses is the target) and ships as
sentence_model.json beside this file, a few hundred kilobytes of weights: nothing is downloaded and
nothing runs but a sum of weights per sentence. Without the file, the rule the model was built to
improve on applies: keep sentences that carry their section's words.

    .venv/bin/python benchmarks/eval_scribe.py --learn   # refits the model from the train split
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mederi.ai.scribe.sections import Candidate

MODEL_FILE = Path(__file__).resolve().parent / "sentence_model.json"
STOPWORDS = frozenset(
    "a an the and or but so of to in on at for with from by is are was were be been being it its this that these "
    "those i you he she we they me him her us them my your his our their there here do does did have has had not "
    "no yes okay just very really also will would can could should as if then than about up out into over".split())


def features(candidate: Candidate) -> list[str]:
    words = set(re.findall(r"[a-z][a-z'-]+", candidate.spoken)) - STOPWORDS
    section = candidate.section
    return ["bias", f"section={section}", f"speaker={candidate.speaker}:{section}", f"phase={candidate.phase}",
            f"cued={candidate.cued}:{section}", f"length={min(len(candidate.spoken.split()) // 5, 8)}",
            f"position={int(candidate.position * 10)}:{section}",
            *(f"word={word}" for word in words), *(f"{section}:{word}" for word in words)]


def probability(model: dict, candidate: Candidate) -> float:
    weights = model["weights"]
    total = sum(weights.get(name, 0.0) for name in features(candidate))
    return 1 / (1 + math.exp(-max(min(total, 30), -30)))


@functools.lru_cache(maxsize=1)
def shipped_model() -> dict | None:
    if not MODEL_FILE.exists():
        return None
    return json.loads(MODEL_FILE.read_text(encoding="utf-8"))


def chosen(candidates: list[Candidate], model: dict | None = None) -> list[Candidate]:
    """The candidates the note keeps, in the order spoken."""
    model = model if model is not None else shipped_model()
    if model is None:
        return [c for c in candidates if c.cued]
    return [c for c in candidates if probability(model, c) >= model["threshold"]]


# ------------------------------------------------------------------------------------------- fitting

def fit(examples: list[tuple[list[str], float]], epochs: int = 12, rate: float = 0.1, l2: float = 1e-4,
        seed: int = 7) -> dict[str, float]:
    """Logistic regression on (features, target in 0..1) by stochastic gradient descent."""
    weights: dict[str, float] = {}
    order = list(range(len(examples)))
    shuffle = random.Random(seed).shuffle
    for epoch in range(epochs):
        shuffle(order)
        step = rate / (1 + epoch)
        for index in order:
            names, target = examples[index]
            total = sum(weights.get(name, 0.0) for name in names)
            error = 1 / (1 + math.exp(-max(min(total, 30), -30))) - target
            for name in names:
                weight = weights.get(name, 0.0)
                weights[name] = weight - step * (error + l2 * weight)
    return {name: round(weight, 4) for name, weight in weights.items() if abs(weight) >= 1e-3}


def target(candidate: Candidate, reference_words: set[str], tokenize) -> float:
    """The share of the sentence's content words the reference note also has."""
    words = [w for w in tokenize(candidate.text) if w not in STOPWORDS]
    return sum(w in reference_words for w in words) / len(words) if words else 0.0
