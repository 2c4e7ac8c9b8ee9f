"""A biller in Chromium: the claims list shows a high denial risk, the claim page says why, and after the fix
the claim is scored again with what the payer did with such claims."""

from __future__ import annotations

import pytest

from mederi.ai.denial import services
from mederi.ai.denial.tests.conftest import SYSTEM, TODAY, acme_pattern, open_claim, record
from mederi.conftest import needs_chromium, sign_in_browser

pytestmark = needs_chromium


@pytest.fixture
def biller(transactional_db, clinic):
    from mederi.accounts import services as accounts

    accounts.ensure_default_roles()
    return accounts.create_staff_user("bea", "a-long-demo-password", "Bea Biller", roles=["biller"],
                                      mfa_required=False)


def test_a_biller_reads_the_risk_fixes_the_claim_and_sees_it_scored_again(live_server, page, biller):
    record(acme_pattern())
    services.train_model(SYSTEM, today=TODAY)
    claim_id = open_claim([("99214", (), "M17.11"), ("20610", ("RT",), "M17.11")])
    services.score_open_claims(SYSTEM)
    errors = sign_in_browser(page, live_server, biller)
    page.goto(f"{live_server.url}/billing/claims/")
    row = page.locator("tr", has_text="C000000901")
    assert "High" in row.inner_text()
    row.locator("a", has_text="C000000901").click()
    page.wait_for_url(f"**/billing/claims/{claim_id}/")
    risk = page.inner_text("#claim-risk")
    assert "Scrubber: Line 1: 99214 with 20610 needs modifier 25" in risk
    assert "the scrubber's rules alone" in risk and "It blocks nothing" in risk
    page.fill("#line-1-mod-1", "25")
    page.click("text=Save line 1")
    page.wait_for_selector("text=The scrubber finds nothing to fix")
    risk = page.inner_text("#claim-risk")
    assert "Acme Health Plan denied 50% of 99214 with modifier 25 (10 of 20 lines" in risk
    assert "CARC 97" in risk and "scored on an earlier version" not in risk
    assert errors == []
