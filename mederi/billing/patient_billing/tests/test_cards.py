"""Card payments through the stand-in gateway: approved, declined, refused before asking, refunded; no card number kept."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import pytest
from django.db import connection

from mederi.audit.models import AuditEntry
from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.ledger.models import Transaction
from mederi.billing.models import PatientPayment
from mederi.core.errors import InvalidRequest, MederiError

from ..cards import pay_by_card, refund_to_card, save_card
from ..gateway import HttpGateway
from ..models import CardCharge, StoredCard
from .conftest import NO_FUNDS, VISA

D = Decimal
BALANCE = "patient:pat-jane"


def everything_stored() -> str:
    """Every row of the tables a card payment touches, as text: a card number must appear in none."""
    rows = [list(PatientPayment.objects.values()), list(CardCharge.objects.values()), list(StoredCard.objects.values()),
            list(Transaction.objects.values()), list(AuditEntry.objects.values())]
    return json.dumps(rows, default=str)


def test_a_card_payment_is_authorised_captured_and_posted_and_only_the_last_four_digits_are_kept(owing, biller,
                                                                                                    gateway):
    charge = pay_by_card(biller, "pat-jane", "20.00", number=VISA, expiry="12/28", cvc="123", holder="Jane Doe")
    assert charge.status == CardCharge.CAPTURED and (charge.brand, charge.last4) == ("visa", "4242")
    assert [path for path, _ in gateway.requests] == ["/v1/tokens", "/v1/charges",
                                                      f"/v1/charges/{charge.gateway_id}/capture"]
    payment = PatientPayment.objects.get(receipt_number=charge.receipt_number)
    assert (payment.method, payment.amount, payment.reference) == ("card", D("20.00"),
                                                                    f"visa ending 4242 {charge.gateway_id}")
    assert ledger_selectors.balance_of(BALANCE) == D("0.00")
    stored = everything_stored()
    assert "4242424242424242" not in stored and "4242 4242" not in stored and '"123"' not in stored


def test_a_declined_card_says_why_and_what_to_do_and_posts_nothing(owing, biller, gateway):
    with pytest.raises(InvalidRequest) as caught:
        pay_by_card(biller, "pat-jane", "20.00", number=NO_FUNDS, expiry="12/28", cvc="123")
    assert caught.value.issues[0].diagnostics == ("The card was declined: the card has insufficient funds. "
                                                  "Ask for another card or another way to pay.")
    assert ledger_selectors.balance_of(BALANCE) == D("20.00") and not PatientPayment.objects.exists()
    assert CardCharge.objects.get().status == CardCharge.DECLINED  # the attempt is on record


@pytest.mark.parametrize("number, expiry, cvc, field, words", [
    ("4242 4242 4242 4241", "12/28", "123", "number", "card number is not valid"),  # fails the Luhn check
    ("4242", "12/28", "123", "number", "12 to 19 digits"),
    (VISA, "13/28", "123", "expiry", "MM/YY"),
    (VISA, "01/26", "123", "expiry", "expired at the end of 01/2026"),
    (VISA, "12/28", "12a", "cvc", "3 or 4 digits"),
])
def test_bad_card_details_are_refused_with_the_field_to_fix_and_nothing_is_stored(owing, biller, gateway, number,
                                                                                  expiry, cvc, field, words):
    with pytest.raises(InvalidRequest) as caught:
        pay_by_card(biller, "pat-jane", "20.00", number=number, expiry=expiry, cvc=cvc)
    issue = caught.value.issues[0]
    assert issue.expression == field and words in issue.diagnostics
    assert not CardCharge.objects.exists() and not PatientPayment.objects.exists()


def test_a_bad_amount_is_refused_before_the_gateway_is_asked(owing, biller, gateway):
    with pytest.raises(InvalidRequest, match="not an amount of money"):
        pay_by_card(biller, "pat-jane", "twenty", number=VISA, expiry="12/28", cvc="123")
    assert gateway.requests == []


def test_a_refund_goes_back_to_the_card_and_onto_the_account_and_never_more_than_was_paid(owing, biller, gateway):
    charge = pay_by_card(biller, "pat-jane", "20.00", number=VISA, expiry="12/28", cvc="123")
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
    card = save_card(biller, "pat-jane", VISA, "12/28", "123")
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
    from ..gateway import GatewayError

    with pytest.raises(GatewayError, match="send the secret key"):
        HttpGateway(gateway.url, "wrong").tokenize("4242424242424242", 12, 2028, "123", "")


def test_no_card_number_column_exists(db):
    """The tables are built so a number has nowhere to go: token, brand, last four digits and expiry only."""
    columns = {c.name for c in connection.introspection.get_table_description(connection.cursor(),
                                                                              StoredCard._meta.db_table)}
    assert columns >= {"token", "last4"} and not {"number", "pan", "card_number", "cvc"} & columns
