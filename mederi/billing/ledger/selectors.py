"""Reading the ledger: balances, a patient's account, A/R aging and the day sheet.

Aging puts each receivable posting in a bucket by the age of its date of service on the day asked
about; payments and adjustments carry the date of service of the claim they settle, so a settled
claim nets to zero in its own bucket. It is one grouped query over the postings of receivable
accounts (see benchmarks/bench_aging.py for its speed over a million rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import BigIntegerField, Case, Q, Sum, Value, When

from .models import Account, Posting, Transaction, as_money

ZERO = Decimal("0.00")
BUCKETS = [("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-120", 91, 120), ("120+", 121, None)]


@dataclass
class AgingRow:
    account_key: str
    party_id: str
    name: str
    buckets: list[Decimal] = field(default_factory=lambda: [ZERO] * len(BUCKETS))

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, ZERO)


def aging(kind: str, as_of: dt.date) -> list[AgingRow]:
    """Receivables of every payer (kind "payer") or patient ("patient") account, by age, largest total first."""
    if kind not in Account.RECEIVABLES:
        raise ValueError(f"aging is by payer or by patient, not {kind!r}")
    sums = {}
    for index, (label, low, high) in enumerate(BUCKETS):
        newest = as_of - dt.timedelta(days=low)
        condition = Q(service_date__lte=newest)
        if high is not None:
            condition &= Q(service_date__gte=as_of - dt.timedelta(days=high))
        sums[f"b{index}"] = Sum(Case(When(condition, then="amount_cents"), default=Value(0),
                                     output_field=BigIntegerField()))
    grouped = (Posting.objects.filter(account__kind=kind).values("account_id").annotate(**sums)
               .order_by())
    names = {a.pk: a for a in Account.objects.filter(kind=kind).only("pk", "key", "party_id", "name")}
    rows = []
    for group in grouped:
        account = names[group["account_id"]]
        row = AgingRow(account.key, account.party_id, account.name,
                       [as_money(group[f"b{index}"]) for index in range(len(BUCKETS))])
        if any(row.buckets):
            rows.append(row)
    rows.sort(key=lambda row: (-row.total, row.account_key))
    return rows


def aging_totals(rows: list[AgingRow]) -> list[Decimal]:
    return [sum((row.buckets[i] for row in rows), ZERO) for i in range(len(BUCKETS))]


def balance_of(key: str) -> Decimal:
    account = Account.objects.filter(key=key).only("balance_cents").first()
    return account.balance if account else ZERO


@dataclass
class Line:
    posted: dt.date
    service_date: dt.date
    kind: str
    description: str
    amount: Decimal  # what it did to the account: positive raises what is owed
    running: Decimal = ZERO


def account_lines(key: str, limit: int = 500) -> list[Line]:
    """The postings of one account, oldest first, with the running balance."""
    postings = (Posting.objects.filter(account__key=key).select_related("transaction")
                .order_by("transaction__effective_date", "transaction_id", "pk")[:limit])
    lines, running = [], ZERO
    for posting in postings:
        tx = posting.transaction
        running += posting.amount
        description = tx.memo or tx.get_kind_display()
        if posting.group_code:
            description += f" ({posting.group_code}-{posting.reason_code})"
        lines.append(Line(tx.effective_date, posting.service_date, tx.get_kind_display(), description,
                          posting.amount, running))
    return lines


@dataclass
class ClaimPosting:
    posted: dt.date
    what: str  # "Insurance payment", "Contractual adjustment (CO-45)", "Patient responsibility (PR-2)", ...
    amount: Decimal


_CLAIM_ACCOUNT_WORDS = {Account.CASH: "Paid by insurance", Account.CONTRACTUAL: "Contractual adjustment",
                        Account.OTHER_ADJUSTMENT: "Other adjustment", Account.WRITE_OFF: "Written off",
                        Account.PATIENT: "Patient responsibility", Account.REVENUE: "Charged"}


def claim_postings(claim_number: str) -> list[ClaimPosting]:
    """What the ledger holds for one claim, oldest first: its charge, the payer's payment, adjustments, the
    patient's share (the payer-account side of each transaction is left out: it is their sum)."""
    postings = (Posting.objects.filter(claim_number=claim_number).exclude(account__kind=Account.PAYER)
                .select_related("transaction", "account").order_by("transaction__effective_date", "transaction_id",
                                                                   "pk"))
    rows = []
    for posting in postings:
        what = _CLAIM_ACCOUNT_WORDS.get(posting.account.kind, posting.account.kind)
        if posting.transaction.kind == Transaction.REVERSAL:
            what = f"{what}, reversed"
        if posting.group_code:
            what += f" ({posting.group_code}-{posting.reason_code})"
        amount = -posting.amount if posting.account.kind == Account.REVENUE else posting.amount
        rows.append(ClaimPosting(posting.transaction.effective_date, what, amount))
    return rows


@dataclass
class DaySheet:
    day: dt.date
    rows: list[tuple[str, int, Decimal]]  # (kind, number of transactions, amount to receivables)
    charges: Decimal
    receipts: Decimal  # cash in (insurance and patients), less refunds
    adjustments: Decimal
    transactions: list[Transaction]


def day_sheet(day: dt.date) -> DaySheet:
    """What was posted on a practice day: charges, receipts and adjustments, by kind of transaction."""
    transactions = list(Transaction.objects.filter(effective_date=day).order_by("pk"))
    by_kind = (Posting.objects.filter(transaction__effective_date=day, account__kind__in=Account.RECEIVABLES)
               .values("transaction__kind").annotate(cents=Sum("amount_cents")).order_by("transaction__kind"))
    counts = {}
    for tx in transactions:
        counts[tx.kind] = counts.get(tx.kind, 0) + 1
    labels = dict(Transaction.KINDS)
    rows = [(labels[row["transaction__kind"]], counts.get(row["transaction__kind"], 0), as_money(row["cents"]))
            for row in by_kind]

    def total(kinds) -> Decimal:
        return as_money(Posting.objects.filter(transaction__effective_date=day, account__kind__in=kinds).aggregate(
            total=Sum("amount_cents"))["total"])

    return DaySheet(day, rows, -total([Account.REVENUE]), total([Account.CASH]),
                    total([Account.CONTRACTUAL, Account.WRITE_OFF, Account.OTHER_ADJUSTMENT]), transactions)


def party_names(context, resource_type: str, ids: list[str]) -> dict[str, str]:
    """Display names of Patients or Organizations, read through the repository (so access rules apply)."""
    from mederi.fhir.repository import Repository

    repository, names = Repository(context), {}
    wanted = sorted({i for i in ids if i})
    for start in range(0, len(wanted), 200):
        result = repository.search(resource_type, [("_id", ",".join(wanted[start : start + 200])), ("_count", "1000")],
                                   first_page_only=True)
        for stored in result.matches:
            resource = stored.as_dict()
            if resource_type == "Patient":
                name = (resource.get("name") or [{}])[0]
                names[resource["id"]] = " ".join([*name.get("given", []), name.get("family", "")]).strip()
            else:
                names[resource["id"]] = resource.get("name", "")
    return names
