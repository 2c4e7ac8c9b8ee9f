"""The ledger: balanced, immutable transactions, idempotent sources, reversals, aging — and a property over any sequence."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mederi.billing import practice
from mederi.billing.ledger import selectors
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import Account, Immutable, Posting, Transaction
from mederi.billing.ledger.services import CASH, CONTRACTUAL, REVENUE, Draft, Entry, patient_account, payer_account
from mederi.core.errors import InvalidRequest

D = Decimal
DAY = dt.date(2026, 3, 2)


def charge(claim="C1", patient="p1", payer="acme", amount="100.00", day=DAY) -> Transaction:
    return ledger.post(ledger.charge_draft(claim, patient, payer, D(amount), day))


def payer_pays(claim="C1", patient="p1", payer="acme", paid="60.00", contractual="25.00", patient_share="15.00",
               day=DAY) -> Transaction:
    entries = [Entry(CASH, D(paid), day, claim), Entry(payer_account(payer), -D(paid), day, claim),
               Entry(CONTRACTUAL, D(contractual), day, claim, "CO", "45"),
               Entry(payer_account(payer), -D(contractual), day, claim, "CO", "45"),
               Entry(patient_account(patient), D(patient_share), day, claim, "PR", "2"),
               Entry(payer_account(payer), -D(patient_share), day, claim, "PR", "2")]
    return ledger.post(Draft(Transaction.INSURANCE_PAYMENT, "test", claim, entries))


def balance(key: str) -> Decimal:
    return selectors.balance_of(key)


def test_a_charge_then_its_payment_leaves_the_patient_owing_their_share(db):
    charge()
    assert balance(payer_account("acme")) == D("100.00") and balance(REVENUE) == D("-100.00")
    payer_pays()
    assert balance(payer_account("acme")) == D("0.00")
    assert balance(patient_account("p1")) == D("15.00")
    assert balance(CASH) == D("60.00") and balance(CONTRACTUAL) == D("25.00")


def test_an_unbalanced_transaction_is_refused_and_nothing_is_stored(db):
    with pytest.raises(InvalidRequest, match="does not balance: debits 10.00, credits 9.99, 0.01 apart"):
        ledger.post(Draft(Transaction.CHARGE, "test", "x", [Entry(CASH, D("10.00")), Entry(REVENUE, D("-9.99"))]))
    assert not Transaction.objects.exists() and not Posting.objects.exists() and not Account.objects.exists()


def test_amounts_finer_than_a_cent_or_not_decimal_are_refused(db):
    with pytest.raises(InvalidRequest, match="more than two digits"):
        ledger.post(Draft(Transaction.CHARGE, "test", "x", [Entry(CASH, D("1.005")), Entry(REVENUE, D("-1.005"))]))
    with pytest.raises(InvalidRequest, match="must be a Decimal"):
        ledger.post(Draft(Transaction.CHARGE, "test", "x", [Entry(CASH, 1.5), Entry(REVENUE, D("-1.5"))]))
    assert not Transaction.objects.exists()


def test_one_failing_draft_stores_none_of_its_batch(db):
    good = ledger.charge_draft("C1", "p1", "acme", D("100.00"), DAY)
    bad = Draft(Transaction.CHARGE, "test", "x", [Entry(CASH, D("10.00")), Entry(REVENUE, D("-1.00"))])
    with pytest.raises(InvalidRequest):
        ledger.post_many([good, bad])
    assert not Transaction.objects.exists()


def test_a_batch_of_thousands_is_stored_whole_in_order(db):
    # 1,500 charges and their 3,000 postings: several multi-row statements on either database.
    drafts = [ledger.charge_draft(f"C{n}", f"p{n % 7}", "acme", D(n % 90 + 10), DAY)
              for n in range(1500)]
    ids = ledger.post_many_ids(drafts)
    assert len(set(ids)) == 1500
    assert [t.source_key for t in Transaction.objects.filter(pk__in=ids).order_by("pk")] == [
        d.source_key for d in drafts]
    assert Posting.objects.filter(transaction_id__in=ids).count() == 3000
    owed = sum((d.entries[0].amount for d in drafts), D("0.00"))
    assert balance(payer_account("acme")) == owed and balance(REVENUE) == -owed
    # the keys came from the table's own sequence: a transaction posted one at a time afterwards follows them
    later = ledger.post(ledger.charge_draft("C-later", "p1", "acme", D("5.00"), DAY))
    assert later.pk > max(ids)


def test_posting_the_same_source_twice_posts_once(db):
    first = charge()
    again = charge()
    assert again.pk == first.pk
    assert Transaction.objects.count() == 1 and balance(payer_account("acme")) == D("100.00")


def test_transactions_and_postings_cannot_be_changed_or_deleted(db):
    posted = charge()
    posted.memo = "changed"
    with pytest.raises(Immutable):
        posted.save()
    with pytest.raises(Immutable):
        Posting.objects.filter(transaction=posted).update(amount_cents=100)
    with pytest.raises(Immutable):
        Transaction.objects.all().delete()
    assert Transaction.objects.get().memo != "changed"


def test_a_reversal_undoes_a_transaction_once(db):
    posted = charge()
    undone = ledger.reverse(posted, memo="entered twice")
    assert undone.reverses_id == posted.pk and balance(payer_account("acme")) == D("0.00")
    with pytest.raises(InvalidRequest, match="already reversed"):
        ledger.reverse(posted)
    with pytest.raises(InvalidRequest, match="itself a reversal"):
        ledger.reverse(undone)
    assert balance(REVENUE) == D("0.00") and Transaction.objects.count() == 2


def test_aging_puts_what_is_owed_in_buckets_by_date_of_service(db):
    as_of = dt.date(2026, 6, 30)
    charge("A", "p1", "acme", "100.00", as_of - dt.timedelta(days=10))
    charge("B", "p1", "acme", "200.00", as_of - dt.timedelta(days=45))
    charge("C", "p2", "blue", "50.00", as_of - dt.timedelta(days=200))
    payer_pays("B", "p1", "acme", "120.00", "50.00", "30.00", as_of - dt.timedelta(days=45))
    rows = {row.party_id: row for row in selectors.aging("payer", as_of)}
    assert rows["acme"].buckets == [D("100.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00")]
    assert rows["blue"].buckets[4] == D("50.00")
    [patient] = selectors.aging("patient", as_of)
    assert (patient.party_id, patient.buckets[1]) == ("p1", D("30.00"))
    assert selectors.aging_totals(list(rows.values()))[0] == D("100.00")


def test_the_day_sheet_counts_charges_receipts_and_adjustments_of_the_day(db):
    today = practice.today()
    charge()
    payer_pays()
    tomorrow = ledger.charge_draft("C9", "p1", "acme", D("70.00"), DAY)
    tomorrow.effective_date = today + dt.timedelta(days=1)
    ledger.post(tomorrow)  # another day's charge is not on today's sheet
    sheet = selectors.day_sheet(today)
    assert (sheet.charges, sheet.receipts, sheet.adjustments) == (D("100.00"), D("60.00"), D("25.00"))
    assert len(sheet.transactions) == 2 and ("Charge", 1, D("100.00")) in sheet.rows


# ---------------------------------------------------------------- the property

cents = st.integers(1, 500_000).map(lambda n: D(n).scaleb(-2))
patients = st.sampled_from(["p1", "p2", "p3"])
payers = st.sampled_from(["acme", "blue"])
operations = st.lists(st.one_of(
    st.tuples(st.just("charge"), patients, payers, cents),
    st.tuples(st.just("insurance"), patients, payers, st.tuples(cents, cents, cents)),
    st.tuples(st.just("copay"), patients, cents),
    st.tuples(st.just("write-off"), patients, cents),
    st.tuples(st.just("refund"), patients, cents),
    st.tuples(st.just("reverse"), st.integers(0, 1000)),
), min_size=1, max_size=25)


class _Rollback(Exception):
    pass


def _apply(operation, number: int) -> None:
    name = operation[0]
    if name == "charge":
        _, patient, payer, amount = operation
        ledger.post(ledger.charge_draft(f"C{number}", patient, payer, amount, DAY))
    elif name == "insurance":
        _, patient, payer, (paid, contractual, share) = operation
        payer_pays(f"C{number}", patient, payer, str(paid), str(contractual), str(share))
    elif name in ("copay", "write-off", "refund"):
        _, patient, amount = operation
        other = {"copay": CASH, "write-off": ledger.WRITE_OFFS, "refund": CASH}[name]
        sign = D(-1) if name == "refund" else D(1)
        ledger.post(Draft(Transaction.PATIENT_PAYMENT, "test", str(number), [
            Entry(other, amount * sign), Entry(patient_account(patient), -amount * sign)]))
    else:
        candidates = list(Transaction.objects.exclude(kind=Transaction.REVERSAL).filter(reversed_by__isnull=True))
        if candidates:
            ledger.reverse(candidates[operation[1] % len(candidates)])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(operations)
def test_any_sequence_keeps_the_ledger_balanced_and_each_account_equal_to_its_postings(db, sequence):
    try:
        with transaction.atomic():
            for number, operation in enumerate(sequence):
                _apply(operation, number)
            unbalanced = Posting.objects.values("transaction").annotate(total=Sum("amount_cents")).exclude(total=0)
            assert not unbalanced.exists()
            sums = dict(Posting.objects.values_list("account").annotate(total=Sum("amount_cents")))
            accounts = list(Account.objects.all())
            assert {a.pk: a.balance_cents for a in accounts} == {a.pk: sums.get(a.pk, 0) for a in accounts}
            assert (Account.objects.aggregate(total=Sum("balance_cents"))["total"] or 0) == 0
            raise _Rollback
    except _Rollback:
        pass
