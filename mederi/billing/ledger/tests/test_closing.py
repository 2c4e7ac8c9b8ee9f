"""The ledger in the database: rows that cannot be changed or removed by any SQL, and month-end close
(its totals, its order, and nothing posted behind it afterwards) — on SQLite and PostgreSQL alike."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from mederi.accounts.context import context_for_user
from mederi.billing.ledger import closing, selectors
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import MonthClose, Posting, Transaction
from mederi.billing.ledger.services import CASH, CONTRACTUAL, Draft, Entry, patient_account, payer_account
from mederi.conftest import staff_user
from mederi.core.errors import Forbidden, InvalidRequest

pytestmark = pytest.mark.django_db
D = Decimal
MARCH, APRIL = dt.date(2026, 3, 10), dt.date(2026, 4, 5)


def charge(claim="C1", day=MARCH, amount="100.00") -> Transaction:
    """A claim's charge posted on `day` (the day it counts on, which month-end close goes by)."""
    draft = ledger.charge_draft(claim, "p1", "acme", D(amount), day)
    draft.effective_date = day
    return ledger.post(draft)


def payer_pays(day: dt.date, source: str = "C1") -> Transaction:
    """The payer pays 60, writes 25 off by contract and moves 15 to the patient, on `day`."""
    payer = payer_account("acme")
    entries = [Entry(CASH, D("60.00"), day, "C1"), Entry(payer, D("-60.00"), day, "C1"),
               Entry(CONTRACTUAL, D("25.00"), day, "C1", "CO", "45"), Entry(payer, D("-25.00"), day, "C1", "CO", "45"),
               Entry(patient_account("p1"), D("15.00"), day, "C1", "PR", "2"), Entry(payer, D("-15.00"), day, "C1")]
    return ledger.post(Draft(Transaction.INSURANCE_PAYMENT, "test", source, entries, effective_date=day))


def refused_by_the_database(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


@pytest.fixture
def biller():
    return context_for_user(staff_user("bill", "biller"))


def test_no_sql_can_change_or_remove_a_transaction_or_a_posting(db):
    posted = charge()
    for sql in ("UPDATE ledger_posting SET amount_cents = 1", "DELETE FROM ledger_posting",
                "UPDATE ledger_transaction SET memo = 'changed'", "DELETE FROM ledger_transaction"):
        assert "the ledger is append-only" in refused_by_the_database(sql)
    assert Transaction.objects.get().memo == posted.memo
    assert sorted(Posting.objects.values_list("amount_cents", flat=True)) == [-10000, 10000]


def test_a_correction_is_a_reversal_and_the_database_takes_it(db):
    posted = charge()
    ledger.reverse(posted, memo="charged the wrong payer")
    assert selectors.balance_of(payer_account("acme")) == D("0.00") and Transaction.objects.count() == 2


def test_a_month_closes_with_its_totals_and_they_roll_forward(biller):
    charge("C0", dt.date(2026, 2, 20))  # owed before March
    charge()
    payment = payer_pays(MARCH)
    ledger.reverse(payment, effective_date=MARCH)  # taken back and paid again: nets to one payment
    payer_pays(MARCH, source="C1 again")
    ledger.post(Draft(Transaction.PATIENT_PAYMENT, "test", "r1", [Entry(CASH, D("10.00")),
                                                                   Entry(patient_account("p1"), D("-10.00"))],
                      effective_date=dt.date(2026, 3, 31)))  # the last day counts
    closing.close_month(biller, "2026-02")
    closed = closing.close_month(biller, "2026-03")
    assert (closed.ar_open, closed.charges, closed.payments, closed.adjustments, closed.ar_close) == (
        D("100.00"), D("100.00"), D("70.00"), D("25.00"), D("105.00"))
    assert closed.transactions == 5 and closed.closed_by and closed.period_end == dt.date(2026, 3, 31)
    assert closing.month_totals("2026-03").rolls_forward
    assert closing.closed_through() == dt.date(2026, 3, 31)


def test_after_the_close_nothing_dated_in_it_is_posted_and_a_correction_goes_in_the_open_month(biller):
    posted = charge()
    closing.close_month(biller, "2026-03")
    before = Transaction.objects.count()
    with pytest.raises(InvalidRequest) as refused:
        charge("C2", dt.date(2026, 3, 31))
    assert "2026-03-31 is in a closed month (March 2026 and earlier are closed)" in str(refused.value)
    with pytest.raises(InvalidRequest, match="closed month"):
        ledger.reverse(posted, effective_date=MARCH)
    assert Transaction.objects.count() == before
    ledger.reverse(posted, effective_date=APRIL, memo="wrong payer")  # the correction, in the open month
    assert selectors.balance_of(payer_account("acme")) == D("0.00")


def test_the_database_refuses_a_row_dated_in_a_closed_month_whatever_wrote_it(biller):
    posted = charge()
    closing.close_month(biller, "2026-03")
    message = refused_by_the_database(
        "INSERT INTO ledger_transaction (kind, source_type, source_id, reason_code, memo, effective_date, posted_at, "
        "posted_by) VALUES ('charge', 'sql', 'x', '', '', %s, %s, '')", [dt.date(2026, 3, 15), dt.datetime(2026, 4, 1)])
    assert "closed month" in message
    message = refused_by_the_database(
        "INSERT INTO ledger_posting (transaction_id, account_id, amount_cents, service_date, claim_number, group_code, "
        "reason_code) SELECT %s, account_id, 1, service_date, '', '', '' FROM ledger_posting LIMIT 1", [posted.pk])
    assert "closed month" in message
    assert "append-only" in refused_by_the_database("DELETE FROM ledger_month_close")
    assert "append-only" in refused_by_the_database("UPDATE ledger_month_close SET charges_cents = 0")
    assert MonthClose.objects.get().charges == D("100.00")


def test_one_row_behind_the_close_refuses_a_whole_bulk_insert(biller):
    from mederi.core import bulk

    posted = charge()
    closing.close_month(biller, "2026-03")
    fresh = charge("C2", APRIL)
    account = Posting.objects.filter(transaction=fresh).values_list("account_id", flat=True).first()
    rows = [(fresh.pk, account, 0, APRIL, f"C{n}", "", "") for n in range(2500)]
    rows[1700] = (posted.pk, account, 0, APRIL, "late", "", "")  # added to a March transaction
    before = Posting.objects.count()
    with pytest.raises(DatabaseError, match="closed month"), transaction.atomic():
        bulk.insert_rows("ledger_posting", ("transaction_id", "account_id", "amount_cents", "service_date",
                                            "claim_number", "group_code", "reason_code"), rows)
    assert Posting.objects.count() == before


@pytest.mark.parametrize("month, words", [
    ("March", "“March” is not a month: write it as YYYY-MM"),
    ("2026-13", "is not a month"),
    ("2999-01", "January 2999 has not ended yet"),
])
def test_a_month_that_cannot_be_closed_is_refused_with_the_reason_and_nothing_is_stored(biller, month, words):
    with pytest.raises(InvalidRequest) as refused:
        closing.close_month(biller, month)
    assert words in str(refused.value) and not MonthClose.objects.exists()


def test_months_close_once_and_in_order(biller):
    closing.close_month(biller, "2026-03")
    with pytest.raises(InvalidRequest, match="March 2026 was closed on"):
        closing.close_month(biller, "2026-03")
    with pytest.raises(InvalidRequest, match="close April 2026 first: months close in order"):
        closing.close_month(biller, "2026-05")
    with pytest.raises(InvalidRequest, match="March 2026 is already closed"):
        closing.close_month(biller, "2026-01")
    closing.close_month(biller, "2026-04")
    assert list(MonthClose.objects.order_by("month").values_list("month", flat=True)) == [
        dt.date(2026, 3, 1), dt.date(2026, 4, 1)]


def test_closing_needs_the_permission(db):
    desk = context_for_user(staff_user("desk", "front_desk"))
    with pytest.raises(Forbidden):
        closing.close_month(desk, "2026-03")
    assert not MonthClose.objects.exists()


def test_the_close_page_shows_the_totals_closes_the_month_and_explains_a_refusal(db):
    charge()
    client = Client()
    client.force_login(staff_user("bill", "biller"))
    page = client.get("/billing/ledger/close/?month=2026-03")
    assert page.status_code == 200 and b'id="charges">100.00' in page.content
    assert b"Close March 2026" in page.content
    response = client.post("/billing/ledger/close/", {"month": "2026-03"}, follow=True)
    assert b"March 2026 is closed" in response.content and MonthClose.objects.count() == 1
    again = client.post("/billing/ledger/close/", {"month": "2026-03"})
    assert again.status_code == 400 and "March 2026 was closed on" in again.content.decode()
    bad = client.post("/billing/ledger/close/", {"month": "next"})
    assert bad.status_code == 400 and "“next” is not a month" in bad.content.decode()
    assert MonthClose.objects.count() == 1
