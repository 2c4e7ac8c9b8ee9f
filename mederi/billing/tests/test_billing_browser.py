"""A biller in Chromium: the charges of a signed visit, a scrubber finding fixed, the claim sent to the clearinghouse."""

from __future__ import annotations

import time

import pytest

from mederi.billing import claim_status
from mederi.billing.claims import fees
from mederi.billing.models import Interchange
from mederi.billing.tests.conftest import system_repository
from mederi.billing.tests.test_claims_flow import SYSTEM, visit  # noqa: F401 (visit is a fixture)
from mederi.conftest import needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def biller(transactional_db, visit):  # noqa: F811
    from mederi.accounts import services

    services.ensure_default_roles()
    fees.set_price(SYSTEM, fees.default_schedule(), "99396", "", "180.00")
    return services.create_staff_user("bea", "a-long-demo-password", "Bea Biller", roles=["biller"],
                                      mfa_required=False)


def test_a_biller_charges_a_visit_fixes_a_finding_and_sends_the_claim(live_server, page, biller, sftp, payer):
    received = []
    payer.override = lambda payload, kind: received.append(payload.decode())
    page.goto(f"{live_server.url}/billing/charges/visit/visit-jane/")
    page.fill("#id_username", "bea")
    page.fill("#id_password", "a-long-demo-password")
    page.keyboard.press("Enter")
    page.wait_for_url("**/billing/charges/visit/visit-jane/")
    page.fill("#dx_1", "Z00.00")
    page.fill("#dx_2", "I10")
    page.click("button[value=review]")
    page.fill("#code_0", "99396")
    page.select_option("#ptr_0_1", "1")
    page.click("button[value=add]")
    page.fill("#code_1", "99213")
    page.select_option("#ptr_1_1", "2")
    page.click("button[value=review]")
    assert page.inner_text("#charge-total") == "300.00"
    page.click("button[value=create]")
    page.wait_for_url("**/billing/claims/**")
    assert "99213 with 99396 needs modifier 25" in page.inner_text(".findings")
    page.click(".findings a")  # "Go to the field": line 2's modifiers
    page.fill("#line-2-mod-1", "25")
    page.click("text=Save line 2")
    page.wait_for_selector("text=The scrubber finds nothing to fix")
    page.click("button[value=scrub]")
    page.click("button[value=submit]")
    page.wait_for_selector("text=Sent to the clearinghouse")
    assert page.inner_text("#claim-status") == "Submitted"
    sent = Interchange.objects.get(kind="837")
    claim_id = page.url.rstrip("/").rsplit("/", 1)[1]
    assert claim_status.status_of(system_repository().read("Claim", claim_id).as_dict()) == "submitted"
    for _ in range(100):  # the clearinghouse picks the file up on its own thread
        if received:
            break
        time.sleep(0.05)
    assert received and received[0] == sent.content and "SV1*HC:99213:25*" in received[0]
