"""The demo practice: a synthetic year of answered claims, a model learned from it, and scores on the open claims."""

from __future__ import annotations

import datetime as dt

from mederi.ai.denial import demo
from mederi.ai.denial.models import DenialModel, RiskScore
from mederi.billing import claim_status
from mederi.billing.claims import demo as claims_demo
from mederi.billing.claims import selectors as claim_selectors
from mederi.billing.remittance import demo as remittance_demo
from mederi.billing.tests.test_demo import demo_practice  # noqa: F401 (a fixture)
from mederi.core.context import Context

TODAY = dt.date(2026, 11, 20)


def test_the_demo_scores_its_open_claims_with_reasons_from_its_history(demo_practice):  # noqa: F811
    history = demo.load_history(TODAY)
    assert "synthetic claims of the last year sent and answered by 835" in history
    claims_demo.load_demo(TODAY)
    assert "Posted" in remittance_demo.load_demo(TODAY)  # the history leaves the remittance demo its claim to answer
    message = demo.load_demo(TODAY)
    assert "model version 1 learned from" in message and "3 open claims scored" in message
    context = Context.system("test")
    open_claims = [c for c in claim_selectors.claims(context) if c["status"] in (claim_status.DRAFT,
                                                                                   claim_status.SCRUBBED)]
    assert len(open_claims) == 3
    scores = {s.claim_id: s for s in RiskScore.objects.all()}
    assert set(scores) == {c["id"] for c in open_claims}
    texts = [r["text"] for s in scores.values() for r in s.reasons]
    assert any(t.startswith("Acme Health Plan denied") and "of 99213" in t for t in texts)
    assert any("denied 38% of 99213 with modifier 25" in t and "CARC 97" in t for t in texts)
    assert any(t.startswith("Medicare Part B denied") and "83036" in t for t in texts)
    assert any("needs modifier 25" in t for t in texts)  # Peter Chalmers' claim: the scrubber's finding
    assert demo.load_history(TODAY) == "denial-risk history: already in place"
    demo.load_demo(TODAY)
    assert DenialModel.objects.count() == 2 and RiskScore.objects.count() == 6  # retrained: each claim rescored
