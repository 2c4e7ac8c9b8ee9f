"""Card payments through the stand-in gateway: approved, declined, refused before asking, refunded; no card number kept."""

from __future__ import annotations

import datetime as dt
import json
import socket
from decimal import Decimal

import pytest
import requests
from django.db import connection

from mederi.audit.models import AuditEntry
from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.ledger.models import Transaction
from mederi.billing.models import PatientPayment
from mederi.core.errors import InvalidRequest, MederiError

from ..cards import pay_by_card, refund_to_card, save_card
from ..gateway import Declined, GatewayError, HttpGateway
from ..models import CardCharge, StoredCard
from .conftest import NO_FUNDS, VISA, typed

D = Decimal
BALANCE = "patient:pat-jane"


def everything_stored() -> str:
    """Every row of the tables a card payment touches, as text: a card number must appear in none."""
    rows = [list(PatientPayment.objects.values()), list(CardCharge.objects.values()), list(StoredCard.objects.values()),
            list(Transaction.objects.values()), list(AuditEntry.objects.values())]
    return json.dumps(rows, default=str)


def test_a_card_payment_is_authorised_captured_and_posted_and_only_the_last_four_digits_are_kept(owing, biller,
                                                                                                    gateway):
    token = typed(VISA, holder="Jane Doe")  # what the page's script got from the gateway in the browser
    charge = pay_by_card(biller, "pat-jane", "20.00", token=token)
    assert charge.status == CardCharge.CAPTURED and (charge.brand, charge.last4) == ("visa", "4242")
    # The server asks the gateway what the token stands for, then charges it; it never sends a card number.
    assert [path for path, _ in gateway.requests] == ["/v1/tokens", f"/v1/tokens/{token}", "/v1/charges",
                                                      f"/v1/charges/{charge.gateway_id}/capture"]
    assert "4242" not in json.dumps(gateway.requests[1:])
    payment = PatientPayment.objects.get(receipt_number=charge.receipt_number)
    assert (payment.method, payment.amount, payment.reference) == ("card", D("20.00"),
                                                                    f"visa ending 4242 {charge.gateway_id}")
    assert ledger_selectors.balance_of(BALANCE) == D("0.00")
    stored = everything_stored()
    assert "4242424242424242" not in stored and "4242 4242" not in stored and '"123"' not in stored


def test_a_declined_card_says_why_and_what_to_do_and_posts_nothing(owing, biller, gateway):
    with pytest.raises(InvalidRequest) as caught:
        pay_by_card(biller, "pat-jane", "20.00", token=typed(NO_FUNDS))
    assert caught.value.issues[0].diagnostics == ("The card was declined: the card has insufficient funds. "
                                                  "Ask for another card or another way to pay.")
    assert ledger_selectors.balance_of(BALANCE) == D("20.00") and not PatientPayment.objects.exists()
    assert CardCharge.objects.get().status == CardCharge.DECLINED  # the attempt is on record


@pytest.mark.parametrize("number, expiry, cvc, words", [
    ("4242 4242 4242 4241", "12/28", "123", "the card number is not valid"),  # fails the Luhn check
    (VISA, "01/26", "123", "the card has expired"),
])
def test_the_gateway_refuses_bad_card_details_from_the_browser(gateway, number, expiry, cvc, words):
    with pytest.raises(Declined, match=words):
        typed(number, expiry, cvc)
    assert gateway.cards == {}


@pytest.mark.parametrize("token", ["tok_0000000000000000", "not a token!", " "])
def test_a_token_the_gateway_does_not_know_asks_for_the_card_again_and_stores_nothing(owing, biller, gateway, token):
    with pytest.raises(InvalidRequest) as caught:
        pay_by_card(biller, "pat-jane", "20.00", token=token)
    assert caught.value.issues[0].expression == "number"
    assert "type the card" in caught.value.issues[0].diagnostics
    assert not CardCharge.objects.exists() and not PatientPayment.objects.exists()
    assert ledger_selectors.balance_of(BALANCE) == D("20.00")


def test_an_expired_card_is_not_kept_on_file(owing, biller, gateway):
    token = typed(VISA, "04/26")  # good when typed on 2026-03-10, expired by the practice's day below
    with pytest.MonkeyPatch.context() as patch:
        from mederi.billing import practice

        patch.setattr(practice, "today", lambda: dt.date(2026, 5, 2))
        with pytest.raises(InvalidRequest, match="expired at the end of 04/2026"):
            save_card(biller, "pat-jane", token)
    assert not StoredCard.objects.exists()


def test_the_publishable_key_only_makes_tokens(gateway):
    browser = HttpGateway(gateway.url, "pk_test")
    token = browser.tokenize("4242424242424242", 12, 2028, "123", "")
    with pytest.raises(GatewayError, match="a publishable key can only create card tokens"):
        browser.authorize(token.token, 2000, key="k1")
    with pytest.raises(GatewayError, match="a publishable key can only create card tokens"):
        browser.card_of(token.token)
    assert [path for path, _ in gateway.requests] == ["/v1/tokens"]


def test_a_browser_on_another_origin_may_ask_for_a_token(gateway):
    preflight = requests.options(f"{gateway.url}/v1/tokens", headers={
        "Origin": "http://clinic.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = requests.post(f"{gateway.url}/v1/tokens", headers={"Authorization": "Bearer pk_test"}, json={
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2028, "cvc": "123"}})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "*"


def test_a_bad_amount_is_refused_before_the_gateway_is_asked(owing, biller, gateway):
    with pytest.raises(InvalidRequest, match="not an amount of money"):
        pay_by_card(biller, "pat-jane", "twenty", token=typed(VISA))
    assert [path for path, _ in gateway.requests] == ["/v1/tokens"]  # the browser's; the server asked nothing


def test_a_refund_goes_back_to_the_card_and_onto_the_account_and_never_more_than_was_paid(owing, biller, gateway):
    charge = pay_by_card(biller, "pat-jane", "20.00", token=typed(VISA))
    refund_to_card(biller, charge.pk, "7.50", "billed twice for the lab")
    assert gateway.charges[charge.gateway_id]["refunded"] == 750
    assert ledger_selectors.balance_of(BALANCE) == D("7.50")
    with pytest.raises(InvalidRequest, match="at most 12.50 of this payment is left to refund"):
        refund_to_card(biller, charge.pk, "12.51")
    assert ledger_selectors.balance_of(BALANCE) == D("7.50") and gateway.charges[charge.gateway_id]["refunded"] == 750


def test_an_unreachable_gateway_charges_nothing_and_says_so(owing, biller, gateway, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    card = save_card(biller, "pat-jane", typed(VISA))
    settings.MEDERI_PAYMENT_GATEWAY_URL = f"http://127.0.0.1:{closed}"
    with pytest.raises(MederiError, match="could not be reached. Nothing was charged"):
        pay_by_card(biller, "pat-jane", "20.00", card=card)
    assert CardCharge.objects.get().status == CardCharge.FAILED
    assert ledger_selectors.balance_of(BALANCE) == D("20.00")


def test_the_same_charge_asked_again_is_not_charged_twice(gateway):
    client = HttpGateway(gateway.url, "sk_test")
    token = client.tokenize("4242424242424242", 12, 2028, "123", "")
    first = client.authorize(token.token, 2000, key="same-key")
    again = client.authorize(token.token, 2000, key="same-key")
    assert first == again and len(gateway.charges) == 1


def test_the_gateway_refuses_a_request_without_its_key(gateway):
    with pytest.raises(GatewayError, match="send the secret key"):
        HttpGateway(gateway.url, "wrong").tokenize("4242424242424242", 12, 2028, "123", "")


def test_no_card_number_column_exists(db):
    """The tables are built so a number has nowhere to go: token, brand, last four digits and expiry only."""
    columns = {c.name for c in connection.introspection.get_table_description(connection.cursor(),
                                                                              StoredCard._meta.db_table)}
    assert columns >= {"token", "last4"} and not {"number", "pan", "card_number", "cvc"} & columns
