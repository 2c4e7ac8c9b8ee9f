"""A card payment at the front desk in Chromium: the card goes from the browser to the gateway, and
the practice's server receives only the gateway's token."""

from __future__ import annotations

import pytest

from mederi.conftest import needs_chromium, sign_in_browser, staff_user

from .conftest import VISA

pytestmark = needs_chromium


@pytest.fixture
def desk_user(transactional_db):
    return staff_user("fran", "front_desk")


def test_the_front_desk_takes_a_card_and_its_number_never_reaches_the_practice(live_server, page, desk_user, owing,
                                                                                gateway):
    errors = sign_in_browser(page, live_server, desk_user)
    sent_to_practice: list[str] = []
    page.on("request", lambda request: sent_to_practice.append(request.post_data or "")
            if request.url.startswith(live_server.url) and request.method == "POST" else None)
    page.goto(f"{live_server.url}/patients/pat-jane/")
    page.click("text=Balance and card payments")
    assert page.inner_text("#balance") == "20.00"

    # A mistyped card is caught in the browser: nothing is sent anywhere.
    page.fill("#card-number", "4242")
    page.fill("#card-expiry", "13/28")
    page.fill("#card-cvc", "12")
    page.click("text=Charge the card")
    assert "12 to 19 digits" in page.inner_text("#card-number-error")
    assert "MM/YY" in page.inner_text("#card-expiry-error") and "3 or 4 digits" in page.inner_text("#card-cvc-error")
    assert sent_to_practice == [] and gateway.requests == []

    # A number the gateway refuses is shown at the number, and nothing reaches the practice.
    page.fill("#card-number", "4242 4242 4242 4241")
    page.fill("#card-expiry", "12/28")
    page.fill("#card-cvc", "123")
    page.click("text=Charge the card")
    page.wait_for_selector("#card-number-error:not([hidden])")
    assert "the card number is not valid" in page.inner_text("#card-number-error")
    assert page.locator("#card-expiry-error").is_hidden() and sent_to_practice == []

    # A good card: the gateway makes the token, the practice charges it.
    page.fill("#card-number", VISA)
    page.click("text=Charge the card")
    page.wait_for_selector("text=20.00 paid by visa ending 4242")
    assert page.inner_text("#balance") == "0.00"
    assert len(sent_to_practice) == 1 and "pay-token=tok_" in sent_to_practice[0]
    assert "42424242" not in sent_to_practice[0] and "4242+4242" not in sent_to_practice[0]
    assert errors == []
