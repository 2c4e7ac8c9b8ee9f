"""Operational tables of patient billing: cards on file, card charges, payment plans, statement runs.

What a statement said is in the record (an Invoice with its PDF, see statements.py); these rows are
the bookkeeping around it. No card number is stored anywhere: the gateway keeps the card and gives
back a token, and only the token, brand, last four digits and expiry are kept here. Amounts are
whole cents, like the ledger's.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models

from mederi.billing.ledger.models import as_money
from mederi.core import clock


class StoredCard(models.Model):
    """A card the patient asked the practice to keep on file (for a payment plan): the gateway's token only."""

    patient_id = models.CharField(max_length=64, db_index=True)
    token = models.CharField(max_length=100, unique=True)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    holder = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150)
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "patient_billing_stored_card"

    def __str__(self) -> str:
        return f"{self.brand.title()} ending {self.last4} (expires {self.exp_month:02d}/{self.exp_year})"


class CardCharge(models.Model):
    """One attempt to take money from a card through the gateway, recorded before the gateway is asked.

    A row left `pending` means the answer never came back: the idempotency key lets the same charge
    be asked again without charging twice.
    """

    PENDING, CAPTURED, DECLINED, FAILED = "pending", "captured", "declined", "failed"
    STATUSES = [(PENDING, "Waiting for the gateway"), (CAPTURED, "Paid"), (DECLINED, "Declined"),
                (FAILED, "Gateway unreachable")]

    key = models.UUIDField(default=uuid.uuid4, unique=True)  # the Idempotency-Key sent to the gateway
    patient_id = models.CharField(max_length=64, db_index=True)
    amount_cents = models.BigIntegerField()
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    card = models.ForeignKey(StoredCard, null=True, blank=True, on_delete=models.PROTECT, related_name="charges")
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    gateway_id = models.CharField(max_length=100, blank=True)  # the gateway's charge id
    message = models.CharField(max_length=300, blank=True)  # the decline or failure, in words
    receipt_number = models.CharField(max_length=20, blank=True)  # the PatientPayment it became
    refunded_cents = models.BigIntegerField(default=0)
    created = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150)

    class Meta:
        db_table = "patient_billing_card_charge"

    @property
    def amount(self) -> Decimal:
        return as_money(self.amount_cents)

    @property
    def refunded(self) -> Decimal:
        return as_money(self.refunded_cents)

    @property
    def refundable(self) -> Decimal:
        return as_money(self.amount_cents - self.refunded_cents) if self.status == self.CAPTURED else Decimal("0.00")


class PaymentPlan(models.Model):
    ACTIVE, COMPLETED, CANCELLED = "active", "completed", "cancelled"
    STATUSES = [(ACTIVE, "Active"), (COMPLETED, "Paid in full"), (CANCELLED, "Cancelled")]

    patient_id = models.CharField(max_length=64, db_index=True)
    card = models.ForeignKey(StoredCard, on_delete=models.PROTECT, related_name="plans")
    total_cents = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    created = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "patient_billing_payment_plan"

    @property
    def total(self) -> Decimal:
        return as_money(self.total_cents)


class Instalment(models.Model):
    SCHEDULED, PAID, MISSED = "scheduled", "paid", "missed"
    STATUSES = [(SCHEDULED, "Scheduled"), (PAID, "Paid"), (MISSED, "Missed")]

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField()
    due = models.DateField()
    amount_cents = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=STATUSES, default=SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt = models.DateField(null=True, blank=True)
    problem = models.CharField(max_length=300, blank=True)  # why the last attempt failed
    charge = models.ForeignKey(CardCharge, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        db_table = "patient_billing_instalment"
        ordering = ["plan_id", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="patient_billing_instalment_once")]
        indexes = [models.Index(fields=["status", "due"], name="patient_billing_due")]

    @property
    def amount(self) -> Decimal:
        return as_money(self.amount_cents)


class StatementRun(models.Model):
    """Statements for every patient with a balance, made by a job; the statements page polls its progress."""

    QUEUED, RUNNING, FINISHED = "queued", "running", "finished"
    STATES = [(QUEUED, "Waiting to start"), (RUNNING, "Making statements"), (FINISHED, "Finished")]

    statement_date = models.DateField()
    minimum_cents = models.BigIntegerField(default=100)  # balances below this get no statement
    patient_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    made = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED)
    problems = models.JSONField(default=list)
    started_by = models.CharField(max_length=150)
    created = models.DateTimeField(default=clock.now)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "patient_billing_statement_run"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @property
    def minimum(self) -> Decimal:
        return as_money(self.minimum_cents)


class Statement(models.Model):
    """The index of statements issued; the statement itself (and its PDF) is the Invoice in the record."""

    number = models.CharField(max_length=20, unique=True)
    patient_id = models.CharField(max_length=64, db_index=True)
    invoice_id = models.CharField(max_length=64, unique=True)
    statement_date = models.DateField()
    balance_cents = models.BigIntegerField()
    run = models.ForeignKey(StatementRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="statements")
    created = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150)

    class Meta:
        db_table = "patient_billing_statement"
        ordering = ["-created", "-pk"]

    @property
    def balance(self) -> Decimal:
        return as_money(self.balance_cents)
