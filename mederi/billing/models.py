"""Operational tables of billing: how each payer is reached, the X12 files exchanged, and the checks run.

The payers themselves are FHIR Organizations and every eligibility answer a FHIR
CoverageEligibilityResponse; these tables hold what is not a fact about a patient:

- `PayerConnection`: the clearinghouse routing of one payer Organization (transport, address,
  credentials, the ISA sender and receiver ids), with the password encrypted at rest;
- `Interchange`: every raw X12 file sent or received, kept as it travelled, for support and audits;
- `EligibilityCheck`: one row per check, the index the schedule and the nightly batch use to find
  the newest answer for a coverage (FHIR R4 has no search parameter from a
  CoverageEligibilityResponse to its Coverage);
- `ControlNumber`: the counter that gives each outgoing interchange its ISA13;
- `PatientPayment`: money taken from a patient at the desk (a copay at check-in, say): a ledger
  posting, never changed; a mistake is voided with a reason, and the posting stays.
"""

from django.db import IntegrityError, models, transaction

from mederi.core import clock
from mederi.core.crypto import EncryptedTextField


class PayerConnection(models.Model):
    HTTPS, SFTP, STANDIN = "https", "sftp", "standin"
    TRANSPORTS = [
        (HTTPS, "HTTPS (CAQH CORE real-time)"),
        (SFTP, "SFTP (files in and out)"),
        (STANDIN, "Built-in stand-in payer (demo and tests, no network)"),
    ]
    TEST, PRODUCTION = "T", "P"
    USAGES = [(TEST, "Test (T)"), (PRODUCTION, "Production (P)")]

    organization_id = models.CharField(max_length=64, unique=True)  # the payer's Organization logical id
    transport = models.CharField(max_length=10, choices=TRANSPORTS, default=STANDIN)
    url = models.CharField(max_length=500, blank=True)  # https only
    host = models.CharField(max_length=255, blank=True)  # sftp
    port = models.PositiveIntegerField(null=True, blank=True)  # sftp; 22 when empty
    username = models.CharField(max_length=200, blank=True)
    password = EncryptedTextField(blank=True)
    host_key = models.TextField(blank=True)  # sftp: the server's OpenSSH public key line
    ca_file = models.CharField(max_length=500, blank=True)  # https: certificate(s) to trust, for a private CA
    sender_id = models.CharField(max_length=15)  # ISA06 / GS02
    receiver_id = models.CharField(max_length=15)  # ISA08 / GS03
    submitter_name = models.CharField(max_length=60, blank=True)
    usage = models.CharField(max_length=1, choices=USAGES, default=TEST)  # ISA15
    timeout_seconds = models.PositiveSmallIntegerField(default=30)
    timely_filing_days = models.PositiveSmallIntegerField(default=365)  # claims older than this are denied
    active = models.BooleanField(default=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "billing_payer_connection"

    def __str__(self) -> str:
        return f"{self.organization_id} via {self.transport}"

    @property
    def has_password(self) -> bool:
        return bool(self.password)


class Interchange(models.Model):
    OUTBOUND, INBOUND = "out", "in"
    DIRECTIONS = [(OUTBOUND, "Sent"), (INBOUND, "Received")]

    direction = models.CharField(max_length=3, choices=DIRECTIONS)
    kind = models.CharField(max_length=4)  # 270, 271 ...
    control_number = models.CharField(max_length=9, blank=True)  # ISA13, when the file had a readable one
    payer_id = models.CharField(max_length=64, db_index=True)  # the payer's Organization logical id
    request_id = models.CharField(max_length=64, db_index=True)  # the CoverageEligibilityRequest it belongs to
    content = models.TextField()
    created = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        db_table = "billing_interchange"

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.kind} #{self.control_number or '?'} ({self.payer_id})"


class EligibilityCheck(models.Model):
    ACTIVE, INACTIVE, UNKNOWN, REJECTED, FAILED = "active", "inactive", "unknown", "rejected", "failed"
    STATUSES = [
        (ACTIVE, "Coverage active"),
        (INACTIVE, "Coverage not active"),
        (UNKNOWN, "Answered without a coverage status"),
        (REJECTED, "Rejected by the payer"),
        (FAILED, "No usable answer"),
    ]
    PROBLEMS = (INACTIVE, REJECTED, FAILED)

    coverage_id = models.CharField(max_length=64)
    patient_id = models.CharField(max_length=64, db_index=True)
    payer_id = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64, unique=True)  # CoverageEligibilityRequest logical id
    response_id = models.CharField(max_length=64, unique=True)  # CoverageEligibilityResponse logical id
    status = models.CharField(max_length=10, choices=STATUSES)
    answered = models.BooleanField()  # the payer's answer was read (a rejection is an answer too)
    service_date = models.DateField()
    checked_at = models.DateTimeField()
    checked_on = models.DateField()  # the practice's day of the check: one batch check per coverage per day

    class Meta:
        db_table = "billing_eligibility_check"
        indexes = [
            models.Index(fields=["coverage_id", "checked_on"], name="billing_elig_coverage_day"),
            models.Index(fields=["checked_on", "status"], name="billing_elig_day_status"),
        ]


class ControlNumber(models.Model):
    """A named counter; "interchange" numbers the ISA13 of every file sent (1 to 999,999,999, then again)."""

    name = models.CharField(max_length=40, unique=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "billing_control_number"

    LIMIT = 999_999_999

    @classmethod
    def next(cls, name: str = "interchange") -> int:
        for _ in range(3):
            try:
                with transaction.atomic():
                    counter, _ = cls.objects.select_for_update().get_or_create(name=name)
                    counter.value = counter.value % cls.LIMIT + 1
                    counter.save(update_fields=["value"])
                    return counter.value
            except IntegrityError:  # another process created the row first: use it
                continue
        raise RuntimeError(f"could not take the next {name} control number")


class PatientPayment(models.Model):
    CASH, CARD, CHECK, OTHER = "cash", "card", "check", "other"
    METHODS = [(CARD, "Card"), (CASH, "Cash"), (CHECK, "Check"), (OTHER, "Other")]
    COPAY, PREPAYMENT, BALANCE = "copay", "prepayment", "balance"
    KINDS = [(COPAY, "Copay"), (PREPAYMENT, "Prepayment"), (BALANCE, "Balance payment")]

    receipt_number = models.CharField(max_length=20, unique=True)
    patient_id = models.CharField(max_length=64, db_index=True)
    appointment_id = models.CharField(max_length=64, blank=True, db_index=True)
    kind = models.CharField(max_length=12, choices=KINDS, default=COPAY)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    method = models.CharField(max_length=8, choices=METHODS)
    reference = models.CharField(max_length=60, blank=True)  # check number, last four digits of a card, ...
    location_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=clock.now)
    received_by = models.CharField(max_length=150)  # the username of who took it
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "billing_patient_payment"

    def __str__(self) -> str:
        return f"{self.receipt_number}: {self.amount} {self.method} from Patient/{self.patient_id}"

# Fee schedules and licensed CPT descriptions live with the claims code.
from mederi.billing.claims.tables import BatchClaim, FeeSchedule, FeeScheduleEntry, ProcedureDescription, SubmissionRun  # noqa: E402, F401
