"""The double-entry ledger: accounts, transactions and their postings (operational tables).

Every money movement is a `Transaction` whose `Posting`s sum to zero (a debit is a positive amount,
a credit a negative one). Patient and payer accounts are receivables: a positive balance is owed to
the practice. The practice's own accounts hold revenue, cash received and the adjustments that
reduce revenue. Transactions are never changed or deleted: a mistake is undone by a reversing
transaction that points at it, once. `Account.balance` is kept in step with the postings in the
same database transaction, so reports read one row per account instead of summing every posting.

Amounts are stored as whole cents (BigIntegerField): SQLite keeps decimal columns as floating
point and sums them in floating point, which would let a balance drift; integers add exactly on
both databases. `amount` and `balance` give them back as Decimal.
"""

from decimal import Decimal

from django.db import models

from mederi.core import clock


def as_money(cents: int | None) -> Decimal:
    return Decimal(cents or 0).scaleb(-2)


def as_cents(amount: Decimal) -> int:
    return int(amount.scaleb(2))


class Immutable(Exception):
    """Raised on any attempt to change or delete a ledger row: post a reversal instead."""


class _AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise Immutable("ledger rows are never changed: post a reversing transaction")

    def delete(self):
        raise Immutable("ledger rows are never deleted: post a reversing transaction")


class _AppendOnly(models.Model):
    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise Immutable("ledger rows are never changed: post a reversing transaction")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise Immutable("ledger rows are never deleted: post a reversing transaction")


class Account(models.Model):
    PATIENT, PAYER = "patient", "payer"
    REVENUE, CASH, CONTRACTUAL, WRITE_OFF, OTHER_ADJUSTMENT = "revenue", "cash", "contractual", "write_off", "other"
    KINDS = [
        (PATIENT, "Patient receivable"),
        (PAYER, "Payer receivable"),
        (REVENUE, "Practice revenue"),
        (CASH, "Cash and deposits"),
        (CONTRACTUAL, "Contractual adjustments"),
        (WRITE_OFF, "Write-offs"),
        (OTHER_ADJUSTMENT, "Other adjustments"),
    ]
    RECEIVABLES = (PATIENT, PAYER)

    key = models.CharField(max_length=80, unique=True)  # "patient:<id>", "payer:<id>", "practice:cash"
    kind = models.CharField(max_length=12, choices=KINDS)
    party_id = models.CharField(max_length=64, blank=True)  # the Patient or payer Organization logical id
    name = models.CharField(max_length=200, blank=True)
    balance_cents = models.BigIntegerField(default=0)  # the sum of its postings

    @property
    def balance(self) -> Decimal:
        return as_money(self.balance_cents)

    class Meta:
        db_table = "ledger_account"
        indexes = [models.Index(fields=["kind", "party_id"], name="ledger_account_kind_party")]

    def __str__(self) -> str:
        return self.name or self.key


class Transaction(_AppendOnly):
    CHARGE, INSURANCE_PAYMENT, PATIENT_PAYMENT = "charge", "insurance_payment", "patient_payment"
    REFUND, WRITE_OFF, PROVIDER_ADJUSTMENT, REVERSAL = "refund", "write_off", "provider_adjustment", "reversal"
    KINDS = [
        (CHARGE, "Charge"),
        (INSURANCE_PAYMENT, "Insurance payment and adjustments"),
        (PATIENT_PAYMENT, "Patient payment"),
        (REFUND, "Refund"),
        (WRITE_OFF, "Write-off"),
        (PROVIDER_ADJUSTMENT, "Provider-level adjustment"),
        (REVERSAL, "Reversal"),
    ]

    kind = models.CharField(max_length=20, choices=KINDS)
    # What the money movement came from: "claim", "remittance-claim", "remittance", "patient-payment", ...
    source_type = models.CharField(max_length=30)
    source_id = models.CharField(max_length=120)
    # Posting the same source twice posts once: a second post with this key returns the first.
    source_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    reason_code = models.CharField(max_length=20, blank=True)  # a write-off reason, a CARC, a PLB code
    memo = models.CharField(max_length=300, blank=True)
    effective_date = models.DateField()  # the practice day it counts on (day sheet)
    posted_at = models.DateTimeField(default=clock.now)
    posted_by = models.CharField(max_length=150, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by")  # one reversal per transaction, ever

    class Meta:
        db_table = "ledger_transaction"
        indexes = [
            models.Index(fields=["source_type", "source_id"], name="ledger_tx_source"),
            models.Index(fields=["effective_date"], name="ledger_tx_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.source_type} {self.source_id})"


class Posting(_AppendOnly):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="postings")
    # No index of its own: ledger_posting_account_day starts with the account and serves its lookups.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount_cents = models.BigIntegerField()  # debit positive, credit negative
    service_date = models.DateField()  # the date of service the money belongs to: A/R ages from it
    claim_number = models.CharField(max_length=40, blank=True)
    group_code = models.CharField(max_length=2, blank=True)  # CO, PR, OA, PI of an 835 adjustment
    reason_code = models.CharField(max_length=20, blank=True)  # the CARC, or another reason

    class Meta:
        db_table = "ledger_posting"
        indexes = [
            models.Index(fields=["account", "service_date"], name="ledger_posting_account_day"),
            models.Index(fields=["claim_number"], name="ledger_posting_claim"),
        ]

    @property
    def amount(self) -> Decimal:
        return as_money(self.amount_cents)


class MonthClose(_AppendOnly):
    """A closed month: its totals as they stood at close, and the line nothing may be posted behind.

    Once a month is closed, no transaction dated on or before its last day may be posted (the ledger
    service refuses it, and so does the database): a correction is posted in the open month. Months
    close in order and are never reopened.
    """

    month = models.DateField(unique=True)  # the first day of the month
    period_end = models.DateField()  # its last day
    charges_cents = models.BigIntegerField()  # charges posted in the month, net of their reversals
    payments_cents = models.BigIntegerField()  # money received, net of refunds
    adjustments_cents = models.BigIntegerField()  # contractual adjustments, write-offs and other adjustments
    ar_open_cents = models.BigIntegerField()  # what patients and payers owed when the month began
    ar_close_cents = models.BigIntegerField()  # what they owed at its end
    transactions = models.PositiveIntegerField()
    closed_at = models.DateTimeField(default=clock.now)
    closed_by = models.CharField(max_length=150)

    class Meta:
        db_table = "ledger_month_close"
        ordering = ["-month"]

    def money(self, name: str) -> Decimal:
        return as_money(getattr(self, f"{name}_cents"))

    charges = property(lambda self: self.money("charges"))
    payments = property(lambda self: self.money("payments"))
    adjustments = property(lambda self: self.money("adjustments"))
    ar_open = property(lambda self: self.money("ar_open"))
    ar_close = property(lambda self: self.money("ar_close"))
