"""Operational tables of remittance: the 835 files posted, each claim payment posted once, the work queues,
and the files picked up from clearinghouses.

- `RemittanceFile`: one row per 835 file posted (by checksum), with what came of it;
- `PostedClaimPayment`: one row per CLP posted, unique by payer, trace number (TRN02), claim
  number, status and occurrence — the key that makes posting the same 835 twice post nothing;
- `WorkItem`: what a person must look at: a claim or line the 835 names that we cannot find, a
  reversal of a payment never posted, a denial (with its CARC);
- `InboundFile`: every file fetched from a clearinghouse, stored before it is processed, once per
  checksum, so a job that dies half-way loses nothing and reads nothing twice.
"""

from decimal import Decimal

from django.db import models

from mederi.core import clock


def _money(cents: int | None) -> Decimal:
    return Decimal(cents or 0).scaleb(-2)


class RemittanceFile(models.Model):
    checksum = models.CharField(max_length=64, unique=True)  # SHA-256 of the bytes
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=60)  # "upload", "pickup", "demo", ...
    content = models.TextField()
    payer_name = models.CharField(max_length=200, blank=True)
    trace_numbers = models.CharField(max_length=300, blank=True)
    total_cents = models.BigIntegerField(default=0)
    claims_posted = models.PositiveIntegerField(default=0)
    claims_skipped = models.PositiveIntegerField(default=0)  # posted before, from this or another file
    items_queued = models.PositiveIntegerField(default=0)
    warnings = models.TextField(blank=True)
    posted_at = models.DateTimeField(default=clock.now, db_index=True)
    posted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        db_table = "remittance_file"

    @property
    def total(self) -> Decimal:
        return _money(self.total_cents)

    def __str__(self) -> str:
        return f"{self.name} ({self.payer_name}, {self.trace_numbers})"


class PostedClaimPayment(models.Model):
    file = models.ForeignKey(RemittanceFile, on_delete=models.PROTECT, related_name="claim_payments")
    payer_key = models.CharField(max_length=80)  # the 835's payer id (REF*2U or TRN03)
    trace_number = models.CharField(max_length=80)  # TRN02
    claim_number = models.CharField(max_length=40)  # CLP01
    status_code = models.CharField(max_length=2)  # CLP02
    occurrence = models.PositiveSmallIntegerField(default=1)  # the nth CLP with this number and status in the trace
    claim_id = models.CharField(max_length=64, blank=True)  # the FHIR Claim, when matched
    patient_id = models.CharField(max_length=64, blank=True)
    payer_id = models.CharField(max_length=64, blank=True)  # the payer Organization
    charge_cents = models.BigIntegerField(default=0)
    paid_cents = models.BigIntegerField(default=0)
    patient_cents = models.BigIntegerField(default=0)  # moved to the patient (PR adjustments)
    transaction = models.ForeignKey("ledger.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    claim_response_id = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "remittance_claim_payment"
        constraints = [models.UniqueConstraint(
            fields=["payer_key", "trace_number", "claim_number", "status_code", "occurrence"],
            name="remittance_claim_once")]
        indexes = [models.Index(fields=["claim_number", "payer_key"], name="remittance_claim_number")]

    @property
    def paid(self) -> Decimal:
        return _money(self.paid_cents)


class WorkItem(models.Model):
    UNMATCHED_CLAIM, UNMATCHED_LINE, DENIAL, ORPHAN_REVERSAL = "unmatched-claim", "unmatched-line", "denial", "reversal"
    KINDS = [
        (UNMATCHED_CLAIM, "Claim not found"),
        (UNMATCHED_LINE, "Service line not found"),
        (DENIAL, "Denial"),
        (ORPHAN_REVERSAL, "Reversal of a payment never posted"),
    ]

    kind = models.CharField(max_length=20, choices=KINDS)
    file = models.ForeignKey(RemittanceFile, on_delete=models.PROTECT, related_name="work_items")
    claim_number = models.CharField(max_length=40)
    claim_id = models.CharField(max_length=64, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_id = models.CharField(max_length=64, blank=True)
    line = models.CharField(max_length=80, blank=True)  # the procedure and control number of a line
    group_code = models.CharField(max_length=2, blank=True)
    reason_code = models.CharField(max_length=20, blank=True)  # the CARC of a denial
    remarks = models.CharField(max_length=200, blank=True)  # RARC codes, space-separated
    amount_cents = models.BigIntegerField(default=0)
    detail = models.CharField(max_length=400)
    service_date = models.DateField(null=True, blank=True)
    created = models.DateTimeField(default=clock.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "remittance_work_item"
        indexes = [models.Index(fields=["kind", "resolved_at"], name="remittance_work_open")]

    @property
    def amount(self) -> Decimal:
        return _money(self.amount_cents)


class InboundFile(models.Model):
    RECEIVED, PROCESSED, FAILED, IGNORED = "received", "processed", "failed", "ignored"
    STATES = [(RECEIVED, "Received, not yet processed"), (PROCESSED, "Processed"), (FAILED, "Could not be processed"),
              (IGNORED, "Not a kind we process")]

    checksum = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    origin = models.CharField(max_length=120)  # where it came from: "drop:<folder>" or "sftp:<payer organization>"
    kind = models.CharField(max_length=4, blank=True)  # 835, 999, 277 ...
    content = models.BinaryField()
    state = models.CharField(max_length=10, choices=STATES, default=RECEIVED)
    message = models.TextField(blank=True)
    received_at = models.DateTimeField(default=clock.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "remittance_inbound_file"
        indexes = [models.Index(fields=["origin", "name"], name="remittance_inbound_origin")]


class ClaimAcknowledgement(models.Model):
    """What a TA1 or 999 (clearinghouse) or 277CA (payer) said about one claim, and what it did to the claim.

    A rejected claim waits here, with the reason in words, until a person says what was done about
    it (fixed and sent again, voided...): that is the rejections work queue. `source_key` names the
    answer (who sent it, which group or trace, which claim, which verdict), so the same answer
    arriving again in another file changes nothing.
    """

    INTERCHANGE, FUNCTIONAL, PAYER = "TA1", "999", "277CA"
    KINDS = [(INTERCHANGE, "TA1 (clearinghouse, the file's envelope)"), (FUNCTIONAL, "999 (clearinghouse)"),
             (PAYER, "277CA (payer)")]
    ACCEPTED, REJECTED = "accepted", "rejected"
    OUTCOMES = [(ACCEPTED, "Accepted"), (REJECTED, "Rejected")]

    source_key = models.CharField(max_length=200, unique=True)
    inbound = models.ForeignKey(InboundFile, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=5, choices=KINDS)
    outcome = models.CharField(max_length=8, choices=OUTCOMES)
    claim_number = models.CharField(max_length=40, db_index=True)
    claim_id = models.CharField(max_length=64, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    payer_id = models.CharField(max_length=64, blank=True)
    codes = models.CharField(max_length=120, blank=True)  # "IK5 R 5" or "A7:562:85"
    explanation = models.TextField()  # the codes in words
    status_change = models.CharField(max_length=120, blank=True)  # "submitted → rejected", or why it did not move
    received_at = models.DateTimeField(default=clock.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "remittance_claim_ack"
        indexes = [models.Index(fields=["outcome", "resolved_at"], name="remittance_ack_open")]
