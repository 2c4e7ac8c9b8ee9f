"""Payment plans: the schedule, refusals, the daily job charging instalments, a missed payment flagged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.ledger import services as ledger
from mederi.core.errors import InvalidRequest

from ..cards import save_card
from ..models import Instalment, PaymentPlan
from ..plans import charge_due_instalments, charge_instalment, create_plan, month_later, split
from .conftest import DECLINED, SYSTEM, TODAY, VISA, typed

D = Decimal


@pytest.fixture
def owes_100(owing):
    ledger.post(ledger.Draft("charge", "test", "more", [ledger.Entry("patient:pat-jane", D("80.00")),
                                                           ledger.Entry(ledger.REVENUE, D("-80.00"))]))
    return "pat-jane"


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=2, max_value=24))
def test_instalments_add_up_to_the_plan_to_the_cent_and_differ_by_at_most_a_cent(total, count):
    parts = split(total, count)
    assert sum(parts) == total and len(parts) == count and max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 1, 1)), st.integers(min_value=0, max_value=36))
def test_a_month_later_is_the_same_day_or_the_months_last(start, months):
    later = month_later(start, months)
    assert (later.year * 12 + later.month) - (start.year * 12 + start.month) == months
    assert later.day == start.day or (later.day < start.day and (later + dt.timedelta(days=1)).day == 1)


def test_a_plan_splits_the_balance_into_monthly_instalments(owes_100, biller, gateway):
    card = save_card(biller, "pat-jane", typed(VISA, "12/28"), "Jane Doe")
    plan = create_plan(biller, "pat-jane", "100.00", "3", dt.date(2026, 3, 31), card.pk)
    schedule = [(i.number, i.due, i.amount, i.status) for i in plan.instalments.all()]
    assert schedule == [(1, dt.date(2026, 3, 31), D("33.34"), "scheduled"), (2, dt.date(2026, 4, 30), D("33.33"),
                        "scheduled"), (3, dt.date(2026, 5, 31), D("33.33"), "scheduled")]


@pytest.mark.parametrize("amount, months, first_due, field, words", [
    ("150.00", "3", dt.date(2026, 3, 31), "amount", "the patient owes 100.00"),
    ("100.00", "1", dt.date(2026, 3, 31), "months", "choose 2 to 24"),
    ("100.00", "x", dt.date(2026, 3, 31), "months", "choose 2 to 24"),
    ("100.00", "3", dt.date(2026, 3, 9), "first_due", "between today and two months"),
    ("-5", "3", dt.date(2026, 3, 31), "amount", "not an amount"),
])
def test_a_bad_plan_is_refused_with_the_field_and_stores_nothing(owes_100, biller, gateway, amount, months, first_due,
                                                                  field, words):
    card = save_card(biller, "pat-jane", typed(VISA, "12/28"))
    with pytest.raises(InvalidRequest) as caught:
        create_plan(biller, "pat-jane", amount, months, first_due, card.pk)
    assert any(i.expression == field and words in i.diagnostics for i in caught.value.issues), caught.value.issues
    assert not PaymentPlan.objects.exists()


def test_a_card_expiring_before_the_last_instalment_is_refused(owes_100, biller, gateway):
    card = save_card(biller, "pat-jane", typed(VISA, "04/26"))
    with pytest.raises(InvalidRequest, match="expires before the last instalment"):
        create_plan(biller, "pat-jane", "100.00", "3", dt.date(2026, 3, 31), card.pk)


def test_the_job_charges_what_is_due_and_the_plan_completes_when_all_is_paid(owes_100, biller, gateway):
    card = save_card(biller, "pat-jane", typed(VISA, "12/28"))
    plan = create_plan(biller, "pat-jane", "100.00", "2", TODAY, card.pk)
    assert charge_due_instalments(SYSTEM, TODAY) == {"paid": 1, "missed": 0}
    assert charge_due_instalments(SYSTEM, TODAY) == {"paid": 0, "missed": 0}  # nothing twice
    first, second = plan.instalments.all()
    assert (first.status, second.status) == ("paid", "scheduled") and first.charge.receipt_number
    assert ledger_selectors.balance_of("patient:pat-jane") == D("50.00")
    assert charge_due_instalments(SYSTEM, dt.date(2026, 4, 10)) == {"paid": 1, "missed": 0}
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.COMPLETED and ledger_selectors.balance_of("patient:pat-jane") == D("0.00")


def test_a_declined_instalment_is_missed_with_the_reason_tried_again_and_paid_by_a_person(owes_100, biller, gateway):
    card = save_card(biller, "pat-jane", typed(DECLINED, "12/28"))  # tokenized fine, declined when charged
    plan = create_plan(biller, "pat-jane", "100.00", "2", TODAY, card.pk)
    assert charge_due_instalments(SYSTEM, TODAY) == {"paid": 0, "missed": 1}
    missed = plan.instalments.get(number=1)
    assert missed.status == Instalment.MISSED and "declined" in missed.problem and missed.attempts == 1
    assert ledger_selectors.balance_of("patient:pat-jane") == D("100.00")
    assert charge_due_instalments(SYSTEM, TODAY) == {"paid": 0, "missed": 0}  # once a day
    assert charge_due_instalments(SYSTEM, TODAY + dt.timedelta(days=1)) == {"paid": 0, "missed": 1}
    gateway.cards[card.token]["decline"] = ""  # the patient sorted it out with the bank
    paid = charge_instalment(biller, missed.pk)  # the biller presses "Charge now"
    assert paid.status == Instalment.PAID and paid.attempts == 3 and paid.problem == ""
    assert ledger_selectors.balance_of("patient:pat-jane") == D("50.00")
