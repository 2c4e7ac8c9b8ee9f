"""Money from and to patients in the ledger: desk payments, their voids, refunds and write-offs."""

from decimal import Decimal

import pytest

from mederi.accounts.context import context_for_user
from mederi.billing import payments
from mederi.billing.ledger import selectors
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import Transaction
from mederi.billing.ledger.services import CASH, WRITE_OFFS, patient_account
from mederi.conftest import staff_user
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def patient():
    Repository(Context.system()).create({"resourceType": "Patient", "name": [{"family": "Moreno"}]}, logical_id="p1")
    return "p1"


@pytest.fixture
def biller(patient):
    return context_for_user(staff_user("bill", "biller"))


def test_a_copay_taken_at_the_desk_credits_the_patient_and_its_void_undoes_that(patient):
    desk = context_for_user(staff_user("desk", "front_desk"))
    payment = payments.collect_payment(desk, "p1", "25.00", "card")
    assert selectors.balance_of(patient_account("p1")) == D("-25.00")
    assert selectors.balance_of(CASH) == D("25.00")
    payments.void_payment(desk, payment.receipt_number, "wrong patient")
    assert selectors.balance_of(patient_account("p1")) == D("0.00")
    assert [tx.kind for tx in Transaction.objects.order_by("pk")] == ["patient_payment", "reversal"]


def test_a_refund_and_a_write_off_move_the_patients_balance(biller):
    ledger.refund(biller, "p1", "10.00", "check", "overpaid copay")
    assert selectors.balance_of(patient_account("p1")) == D("10.00")
    posted = ledger.write_off(biller, "p1", "10.00", "small-balance")
    assert posted.reason_code == "small-balance" and selectors.balance_of(patient_account("p1")) == D("0.00")
    assert selectors.balance_of(WRITE_OFFS) == D("10.00")
    lines = selectors.account_lines(patient_account("p1"))
    assert [line.running for line in lines] == [D("10.00"), D("0.00")]


@pytest.mark.parametrize("call, words", [
    (lambda c: ledger.refund(c, "p1", "ten", "check"), "not an amount of money"),
    (lambda c: ledger.refund(c, "p1", "10.00", "bitcoin"), "how the refund is paid"),
    (lambda c: ledger.write_off(c, "p1", "10.00", "because"), "why the balance is written off"),
    (lambda c: ledger.write_off(c, "p1", "10.00", "other", ""), "at least 5 characters"),
    (lambda c: ledger.write_off(c, "p1", "0", "small-balance"), "more than zero"),
])
def test_bad_refunds_and_write_offs_are_refused_and_nothing_is_posted(biller, call, words):
    with pytest.raises(InvalidRequest) as refused:
        call(biller)
    assert words in str(refused.value.issues[0].diagnostics)
    assert not Transaction.objects.exists()


def test_only_those_who_post_payments_may_refund_or_write_off(patient):
    desk = context_for_user(staff_user("desk", "front_desk"))
    with pytest.raises(Forbidden):
        ledger.write_off(desk, "p1", "5.00", "courtesy")
    assert not Transaction.objects.exists()
