"""The demo practice's claims: fee schedules and a claim waiting for the biller to fix a finding."""

from __future__ import annotations

import datetime as dt

from mederi.billing.claims import demo, fees
from mederi.billing.claims import selectors as claim_selectors
from mederi.billing.tests.test_demo import demo_practice  # noqa: F401 (a fixture)
from mederi.core.context import Context


def test_the_demo_has_fee_schedules_and_a_claim_with_a_finding_to_fix(demo_practice):  # noqa: F811
    note = demo.load_demo(dt.date(2026, 11, 20))
    assert "waits for modifier 25" in note
    assert fees.price_for("demo-payer-medicare", "99214", []) == fees.parse_price("131.00")
    context = Context.system("test")
    [waiting] = claim_selectors.claims(context, status="draft")
    page = claim_selectors.claim_page(context, waiting["id"])
    assert [issue.diagnostics for issue, _ in page.findings if "needs modifier 25" in issue.diagnostics]
    assert demo.load_demo(dt.date(2026, 11, 20)).endswith("already in place; fee schedules at /billing/fees/")
