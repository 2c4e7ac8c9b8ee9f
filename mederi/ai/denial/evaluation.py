"""How good a claim risk score is on claims whose outcome is known: AUC, Brier score and a calibration table.

Scores are per claim (denied = any line denied), as the biller sees them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .model import Model, Outcome


@dataclass
class Scored:
    claim: str
    denied: bool
    probability: float  # rules and history
    rules_probability: float  # rules alone


def score_claims(model: Model, outcomes: list[Outcome]) -> list[Scored]:
    by_claim: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_claim[outcome.claim].append(outcome)
    scored = []
    for claim, lines in by_claim.items():
        score = model.score([o.facts for o in lines])
        scored.append(Scored(claim, any(o.denied for o in lines), score.probability, score.rules_probability))
    return scored


def auc(labels: list[bool], scores: list[float]) -> float:
    """The chance that a denied claim scores above a paid one (ties count half): Mann-Whitney on ranks."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        raise ValueError("AUC needs both denied and paid claims")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2  # ranks i+1 .. j share their average
        rank_sum += average_rank * sum(1 for _, label in pairs[i:j] if label)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def brier(labels: list[bool], scores: list[float]) -> float:
    return sum((p - float(y)) ** 2 for y, p in zip(labels, scores, strict=True)) / len(labels)


@dataclass
class Bin:
    claims: int
    predicted: float  # mean score
    observed: float  # share denied


def calibration(labels: list[bool], scores: list[float], bins: int = 10) -> list[Bin]:
    """Claims sorted by score and cut into `bins` groups of (nearly) equal size: deciles by default. Claims with
    the same score keep their order (sorting by the outcome too would put the denied last among equals)."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    table = []
    for k in range(bins):
        part = pairs[k * len(pairs) // bins:(k + 1) * len(pairs) // bins]
        if part:
            table.append(Bin(len(part), sum(p for p, _ in part) / len(part), sum(y for _, y in part) / len(part)))
    return table
