"""The practice's own remittance history as the denial model learns it: every claim a payer answered in an
835 that was posted (`remittance.PostedClaimPayment`), its lines read from the Claim, and what the payer did
with each line read from the ClaimResponse kept in the record.

A line is denied when the payer paid nothing for it and did not just leave it to the patient (a deductible
is not a denial); its reason is the largest adjustment that is not the patient's (PR). A claim's latest
answer counts; a claim whose answer was reversed and not answered again is left out.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mederi.billing.claims.charges import ref_id
from mederi.billing.remittance.models import PostedClaimPayment
from mederi.core import systems
from mederi.core.errors import Gone, NotFound
from mederi.fhir.repository import Repository

from .features import claim_facts
from .model import Outcome


def _amount(adjudication: list[dict], category: str) -> Decimal | None:
    for entry in adjudication:
        if any(c.get("code") == category for c in (entry.get("category") or {}).get("coding") or ()):
            return Decimal(str(entry.get("amount", {}).get("value", "0")))
    return None


def _adjustments(adjudication: list[dict]) -> list[tuple[str, str, Decimal]]:
    """(group, CARC, amount) of each adjustment in an adjudication list."""
    found = []
    for entry in adjudication:
        group = next((c.get("code") for c in (entry.get("category") or {}).get("coding") or ()
                      if c.get("system") == systems.CLAIM_ADJUSTMENT_GROUP), None)
        if group:
            reason = next((c.get("code", "") for c in (entry.get("reason") or {}).get("coding") or ()), "")
            found.append((group, reason, Decimal(str(entry.get("amount", {}).get("value", "0")))))
    return found


def judged(adjudication: list[dict]) -> tuple[bool, str]:
    """(denied, CARC) of a line or a claim from its adjudication."""
    paid = _amount(adjudication, "benefit") or Decimal("0")
    submitted = _amount(adjudication, "submitted")
    if paid > 0 or submitted == 0:
        return False, ""
    payer_side = [(amount, reason) for group, reason, amount in _adjustments(adjudication) if group != "PR"]
    if not payer_side:
        return False, ""  # all of it left to the patient (deductible, coinsurance): paid as agreed
    return True, max(payer_side)[1]


def answered_claims(since: dt.date) -> dict[str, PostedClaimPayment]:
    """Claim id -> its latest posted answer (from files posted since `since`), leaving out reversed answers."""
    latest: dict[str, PostedClaimPayment] = {}
    rows = (PostedClaimPayment.objects.filter(file__posted_at__date__gte=since).exclude(claim_id="")
            .order_by("pk").only("claim_id", "status_code", "payer_id", "claim_response_id"))
    for row in rows.iterator(chunk_size=2000):
        if row.status_code == "22":
            latest.pop(row.claim_id, None)
        elif row.claim_response_id:
            latest[row.claim_id] = row
    return latest


def load(repository: Repository, start: dt.date, end: dt.date) -> tuple[list[Outcome], dict[str, str]]:
    """The lines with a date of service in [start, end) that payers answered, and the payers' names."""
    outcomes, names = [], {}
    for claim_id, row in answered_claims(start).items():
        try:
            claim = repository.read("Claim", claim_id).as_dict()
            response = repository.read("ClaimResponse", row.claim_response_id).as_dict()
        except (NotFound, Gone):
            continue
        payer_id = row.payer_id or ref_id(response.get("insurer"), "Organization")
        if payer_id and payer_id not in names:
            try:
                names[payer_id] = repository.read("Organization", payer_id).as_dict().get("name", payer_id)
            except (NotFound, Gone):
                names[payer_id] = payer_id
        whole_denied, whole_reason = judged(response.get("total", []) + response.get("adjudication", []))
        answers = {item["itemSequence"]: judged(item.get("adjudication") or []) for item in response.get("item") or ()}
        for item, facts in zip(claim.get("item") or (), claim_facts(claim, payer_id), strict=True):
            sequence, served = item["sequence"], item.get("servicedDate", "")
            day = dt.date.fromisoformat(served[:10]) if served else None
            if day is None or not start <= day < end:
                continue
            if sequence in answers:
                denied, carc = answers[sequence]
            elif whole_denied:
                denied, carc = True, whole_reason
            else:
                continue  # a line the payer's answer does not place: unknown
            outcomes.append(Outcome(facts, day, claim_id, denied, carc))
    return outcomes, names
