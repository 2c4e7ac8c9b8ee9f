"""Reads of denial risk: the newest score of claims (for the claims list), and a claim's score for its page."""

from __future__ import annotations

from dataclasses import dataclass

from mederi.billing import claim_status
from mederi.core.context import Context
from mederi.core.errors import MederiError

from .models import DenialModel, RiskScore
from .services import OPEN, active_model, score_claim


def latest_scores(claim_ids: list[str]) -> dict[str, RiskScore]:
    """Claim id -> its newest score, for the claims that have one."""
    found: dict[str, RiskScore] = {}
    for row in RiskScore.objects.filter(claim_id__in=claim_ids).order_by("claim_id", "-created_at", "-pk"):
        found.setdefault(row.claim_id, row)
    return found


def attach(claims: list[dict]) -> list[dict]:
    """Each claim summary of the claims list gains "risk": its newest score (or None, not scored yet)."""
    scores = latest_scores([c["id"] for c in claims])
    for claim in claims:
        claim["risk"] = scores.get(claim["id"])
    return claims


@dataclass
class ClaimRisk:
    score: RiskScore | None
    model: DenialModel | None
    stale: bool  # scored on an earlier version of the claim
    problem: str = ""  # why there is no score


def for_claim_page(context: Context, claim: dict, version: int) -> ClaimRisk:
    """The claim's risk; a claim not yet with a payer is scored first when its current version has no score."""
    model = active_model()
    score = latest_scores([claim["id"]]).get(claim["id"])
    problem = ""
    current = score is not None and score.claim_version == version and score.model_version == (model.version if model
                                                                                                else 0)
    if claim_status.status_of(claim) in OPEN and not current:
        try:
            score = score_claim(context, claim["id"])
        except MederiError as error:
            problem = "; ".join(issue.diagnostics for issue in error.issues)
    return ClaimRisk(score, model, score is not None and score.claim_version != version, problem)
