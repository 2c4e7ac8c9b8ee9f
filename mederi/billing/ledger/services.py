"""Posting to the ledger: balanced transactions, reversals, and the everyday movements built on them.

`post_many` is the one write path of the ledger. It checks that each transaction balances (debits
equal credits, to the cent, in Decimal), skips a transaction whose `source_key` was posted before
(so posting the same copay or 835 claim twice posts once), inserts transactions and postings in
bulk and moves the account balances, all in one database transaction. Everything else here —
charges, desk payments, refunds, write-offs, reversals — builds drafts and hands them to it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db import transaction as db_transaction

from mederi.audit import services as audit
from mederi.billing import practice
from mederi.core import bulk, clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.fhir import rows

from .closing import refuse_closed
from .models import Account, Posting, Transaction, as_cents

CENT = Decimal("0.01")
PERMISSION = "payments.post"

CASH = "practice:cash"
REVENUE = "practice:revenue"
CONTRACTUAL = "practice:contractual"
WRITE_OFFS = "practice:write-offs"
OTHER_ADJUSTMENTS = "practice:other-adjustments"
PRACTICE_ACCOUNTS = {
    CASH: (Account.CASH, "Cash and deposits"),
    REVENUE: (Account.REVENUE, "Practice revenue"),
    CONTRACTUAL: (Account.CONTRACTUAL, "Contractual adjustments"),
    WRITE_OFFS: (Account.WRITE_OFF, "Write-offs"),
    OTHER_ADJUSTMENTS: (Account.OTHER_ADJUSTMENT, "Other adjustments"),
}
CLAIM_PAYMENT_SOURCE = "remittance-claim"  # the source_type of an 835's payment for a claim; source_id: its number
WRITE_OFF_REASONS = {
    "small-balance": "Small balance",
    "bad-debt": "Bad debt (sent to collections)",
    "hardship": "Financial hardship",
    "courtesy": "Professional courtesy",
    "timely-filing": "Timely filing limit passed",
    "other": "Other",
}


def patient_account(patient_id: str) -> str:
    return f"patient:{patient_id}"


def payer_account(organization_id: str) -> str:
    return f"payer:{organization_id}"


@dataclass(frozen=True)
class Entry:
    """One line of a transaction: `amount` is a debit when positive, a credit when negative."""

    account: str  # an account key
    amount: Decimal
    service_date: dt.date | None = None  # the transaction's effective date when not given
    claim_number: str = ""
    group_code: str = ""
    reason_code: str = ""


@dataclass
class Draft:
    kind: str
    source_type: str
    source_id: str
    entries: list[Entry]
    source_key: str | None = None
    reason_code: str = ""
    memo: str = ""
    effective_date: dt.date | None = None
    posted_by: str = ""
    reverses_id: int | None = None
    posted: bool = field(default=False, init=False)  # set by post_many: False when the key was posted before


def _checked(draft: Draft) -> list[Entry]:
    entries = [entry for entry in draft.entries if entry.amount != 0]
    for entry in entries:
        if not isinstance(entry.amount, Decimal) or not entry.amount.is_finite():
            raise InvalidRequest.single(f"an amount must be a Decimal, not {entry.amount!r}")
        if entry.amount != entry.amount.quantize(CENT):
            raise InvalidRequest.single(f"{entry.amount} has more than two digits after the point")
    debits = sum((e.amount for e in entries if e.amount > 0), Decimal("0.00"))
    credits = -sum((e.amount for e in entries if e.amount < 0), Decimal("0.00"))
    if debits != credits:
        raise InvalidRequest.single(
            f"the {draft.kind} from {draft.source_type} {draft.source_id} does not balance: debits {debits:.2f}, "
            f"credits {credits:.2f}, {abs(debits - credits):.2f} apart"
        )
    if not entries:
        raise InvalidRequest.single(f"the {draft.kind} from {draft.source_type} {draft.source_id} moves no money")
    return entries


def _kind_of(key: str) -> tuple[str, str, str]:
    """(kind, party id, name) of an account key."""
    if key in PRACTICE_ACCOUNTS:
        kind, name = PRACTICE_ACCOUNTS[key]
        return kind, "", name
    prefix, _, party = key.partition(":")
    if prefix in (Account.PATIENT, Account.PAYER) and party:
        return prefix, party, ""
    raise InvalidRequest.single(f"{key!r} is not a ledger account")


def accounts_for(keys: set[str]) -> dict[str, Account]:
    """The accounts with these keys, opened on first use."""
    found = {account.key: account for account in Account.objects.filter(key__in=keys)}
    missing = [key for key in keys if key not in found]
    if missing:
        new = []
        for key in missing:
            kind, party, name = _kind_of(key)
            new.append(Account(key=key, kind=kind, party_id=party, name=name))
        Account.objects.bulk_create(new, ignore_conflicts=True)
        found.update({account.key: account for account in Account.objects.filter(key__in=missing)})
    return found


# Plain SQL rows (mederi.core.bulk): building and compiling a model instance per transaction and
# posting, and a CASE over a thousand accounts, cost several times the database's own work.
_TRANSACTION_COLUMNS = ("kind", "source_type", "source_id", "source_key", "reason_code", "memo", "effective_date",
                        "posted_at", "posted_by", "reverses_id")
_POSTING_COLUMNS = ("transaction_id", "account_id", "amount_cents", "service_date", "claim_number", "group_code",
                    "reason_code")


def _account_ids(keys: set[str]) -> dict[str, int]:
    """The primary keys of the accounts with these keys, opened on first use."""
    found = dict(Account.objects.filter(key__in=keys).values_list("key", "pk"))
    if len(found) < len(keys):
        found.update({key: account.pk for key, account in accounts_for(keys - set(found)).items()})
    return found


def post_many(drafts: list[Draft]) -> list[Transaction]:
    """Post each draft as one balanced transaction; a draft whose source_key is already posted is skipped.

    Returns the transactions in the order of the drafts (the earlier one for a skipped draft).
    Nothing is posted when any draft is refused.
    """
    ids = post_many_ids(drafts)
    found = Transaction.objects.in_bulk(set(ids))
    return [found[pk] for pk in ids]


def _posted_before(source_keys: list[str]) -> dict[str, int]:
    """The transactions already posted under these source keys, by key."""
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        for chunk in rows.chunks(source_keys) if source_keys else ():
            condition, params = rows.one_of("source_key", chunk)
            cursor.execute(f"SELECT source_key, id FROM {Transaction._meta.db_table} WHERE {condition}", params)
            found.update(cursor.fetchall())
    return found


def post_many_ids(drafts: list[Draft]) -> list[int]:
    """`post_many` giving the transactions' ids: an 835 posts twenty thousand, and a model instance
    for each would cost more than storing it."""
    checked = [(draft, _checked(draft)) for draft in drafts]
    keys = [draft.source_key for draft in drafts if draft.source_key]
    today = practice.today()
    with db_transaction.atomic():
        earlier = _posted_before(keys)
        fresh: list[tuple[Draft, list[Entry]]] = []
        seen: set[str] = set()
        for draft, entries in checked:
            if draft.source_key and (draft.source_key in earlier or draft.source_key in seen):
                continue
            if draft.source_key:
                seen.add(draft.source_key)
            fresh.append((draft, entries))
        refuse_closed([draft.effective_date or today for draft, _ in fresh])  # before the database refuses it
        accounts = _account_ids({entry.account for _, entries in fresh for entry in entries})
        posted_at = bulk.db_datetime(clock.now())
        ids = bulk.insert_returning_ids(Transaction._meta.db_table, _TRANSACTION_COLUMNS, [
            (d.kind, d.source_type, d.source_id[:120], d.source_key, d.reason_code, d.memo[:300],
             d.effective_date or today, posted_at, d.posted_by[:150], d.reverses_id) for d, _ in fresh])
        postings, deltas = [], defaultdict(int)
        for pk, (draft, entries) in zip(ids, fresh, strict=True):
            draft.posted = True
            day = draft.effective_date or today
            for entry in entries:
                account_id = accounts[entry.account]
                cents = as_cents(entry.amount)
                postings.append((pk, account_id, cents, entry.service_date or day, entry.claim_number,
                                 entry.group_code, entry.reason_code))
                deltas[account_id] += cents
        bulk.insert_rows(Posting._meta.db_table, _POSTING_COLUMNS, postings)
        # In account order, so that two files posting at once take their row locks in the same order.
        bulk.add_to_column(Account._meta.db_table, "balance_cents",
                           [(pk, delta) for pk, delta in sorted(deltas.items()) if delta])
    posted = {id(draft): pk for pk, (draft, _) in zip(ids, fresh, strict=True)}
    first = {draft.source_key: pk for pk, (draft, _) in zip(ids, fresh, strict=True) if draft.source_key}
    return [posted.get(id(draft)) or earlier.get(draft.source_key) or first[draft.source_key] for draft in drafts]


def post(draft: Draft) -> Transaction:
    return post_many([draft])[0]


def reversal_of(original: Transaction, *, memo: str = "", posted_by: str = "", source_key: str | None = None,
                effective_date: dt.date | None = None) -> Draft:
    """A draft that undoes `original` posting for posting, on the same service dates."""
    if original.kind == Transaction.REVERSAL:
        raise InvalidRequest.single(f"transaction {original.pk} is itself a reversal: post the original again instead")
    if Transaction.objects.filter(reverses=original).exists():
        raise InvalidRequest.single(f"transaction {original.pk} was already reversed")
    entries = [Entry(p.account.key, -p.amount, p.service_date, p.claim_number, p.group_code, p.reason_code)
               for p in original.postings.select_related("account")]
    return Draft(Transaction.REVERSAL, original.source_type, original.source_id, entries, source_key=source_key,
                 reason_code=original.reason_code, memo=memo or f"reverses transaction {original.pk}",
                 effective_date=effective_date, posted_by=posted_by, reverses_id=original.pk)


def reverse(original: Transaction, **options) -> Transaction:
    return post(reversal_of(original, **options))


# ---------------------------------------------------------------- everyday movements


def charge_draft(claim_number: str, patient_id: str, payer_id: str, total: Decimal, service_date: dt.date,
                 claim_id: str = "") -> Draft:
    """A claim's charges owed by its payer: the payer's account is debited, revenue credited."""
    debtor = payer_account(payer_id) if payer_id else patient_account(patient_id)
    entries = [Entry(debtor, total, service_date, claim_number), Entry(REVENUE, -total, service_date, claim_number)]
    return Draft(Transaction.CHARGE, "claim", claim_id or claim_number, entries, source_key=f"charge:{claim_number}",
                 memo=f"claim {claim_number} for Patient/{patient_id}")


def replaced_charge_reversal(original_number: str, replaced_by: str, *, posted_by: str = "",
                             reversed_ids: set[int] = frozenset()) -> tuple[Draft | None, str]:
    """Taking a replaced claim's charge off the books, once a corrected or void claim replaces it.

    (the reversal, "") when no payer payment of the original stands (each was reversed, or is in
    `reversed_ids`, about to be); (None, why) while one stands, since the payer has not taken the claim
    back yet; (None, "") when the original has no charge on the books (never sent, or taken off already).
    """
    charge = Transaction.objects.filter(source_key=f"charge:{original_number}", reversed_by__isnull=True).first()
    if charge is None:
        return None, ""
    standing = (Transaction.objects.filter(source_type=CLAIM_PAYMENT_SOURCE, source_id=original_number,
                                           kind=Transaction.INSURANCE_PAYMENT, reversed_by__isnull=True)
                .exclude(pk__in=reversed_ids).exists())
    if standing:
        return None, (f"claim {replaced_by} replaces claim {original_number}, whose payment still stands: the charge "
                      f"of {original_number} stays on the books until the payer reverses that payment")
    return reversal_of(charge, memo=f"claim {original_number} replaced by {replaced_by}", posted_by=posted_by,
                       source_key=f"charge-replaced:{original_number}"), ""


def post_patient_payment(payment) -> Transaction:
    """A desk payment (`PatientPayment`): cash in, the patient's account credited."""
    day = practice.day_of(payment.received_at)
    entries = [Entry(CASH, payment.amount, day), Entry(patient_account(payment.patient_id), -payment.amount, day)]
    return post(Draft(Transaction.PATIENT_PAYMENT, "patient-payment", payment.receipt_number, entries,
                      source_key=f"patient-payment:{payment.receipt_number}", reason_code=payment.kind,
                      memo=f"{payment.get_kind_display()} by {payment.method}", effective_date=day,
                      posted_by=payment.received_by))


def reverse_patient_payment(payment, reason: str) -> Transaction | None:
    original = Transaction.objects.filter(source_key=f"patient-payment:{payment.receipt_number}").first()
    if original is None:
        return None
    return reverse(original, memo=f"void: {reason}"[:300], posted_by=payment.received_by,
                   source_key=f"patient-payment-void:{payment.receipt_number}")


def require_posting(context: Context) -> None:
    """Posting payments and adjustments (by hand or from an 835) needs payments.post."""
    context.require(PERMISSION, "your roles do not allow posting payments and adjustments")


def _amount(text) -> Decimal:
    from mederi.billing.payments import parse_amount

    return parse_amount(text)


def refund(context: Context, patient_id: str, amount, method: str, note: str = "") -> Transaction:
    """Money paid back to a patient: the patient's account is debited, cash credited."""
    require_posting(context)
    amount = _amount(amount)
    if method not in ("card", "cash", "check", "other"):
        raise InvalidRequest.single("choose how the refund is paid: card, cash, check or other", expression="method")
    return _post_for_patient(context, patient_id, Transaction.REFUND, method, note, [
        Entry(patient_account(patient_id), amount), Entry(CASH, -amount)])


def write_off(context: Context, patient_id: str, amount, reason: str, note: str = "") -> Transaction:
    """A balance the practice gives up on, with the reason: the patient's account is credited."""
    require_posting(context)
    amount = _amount(amount)
    if reason not in WRITE_OFF_REASONS:
        raise InvalidRequest.single("choose why the balance is written off", expression="reason")
    if reason == "other" and len((note or "").strip()) < 5:
        raise InvalidRequest.single("say why the balance is written off (at least 5 characters)", expression="note")
    return _post_for_patient(context, patient_id, Transaction.WRITE_OFF, reason, note, [
        Entry(WRITE_OFFS, amount), Entry(patient_account(patient_id), -amount)])


def _post_for_patient(context: Context, patient_id: str, kind: str, reason: str, note: str,
                      entries: list[Entry]) -> Transaction:
    from mederi.fhir.repository import Repository

    Repository(context).read("Patient", patient_id)  # exists, and the caller may see this chart
    who = context.user_name or audit.actor_name(context)
    with db_transaction.atomic():
        posted = post(Draft(kind, "patient", patient_id, entries, reason_code=reason, memo=(note or "").strip()[:300],
                            posted_by=who))
        audit.record(context, "create", patient_id=patient_id, resource_type="LedgerTransaction",
                     resource_ids=[str(posted.pk)], detail={"kind": kind, "reason": reason,
                                                            "amount": str(entries[0].amount)})
    return posted
