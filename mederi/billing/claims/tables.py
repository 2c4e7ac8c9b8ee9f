"""Operational tables of charges and claims: fee schedules and licensed CPT descriptions.

A fee schedule is the practice's price list for one payer (the default one, with no payer, prices
everything else). Prices are not facts about a patient, so they are plain tables; the charges and
claims themselves are FHIR resources in the record.
"""

from django.db import models


class FeeSchedule(models.Model):
    name = models.CharField(max_length=120)
    payer_id = models.CharField(max_length=64, unique=True, blank=True)  # Organization id; "" = the default
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "billing_fee_schedule"
        ordering = ["payer_id", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return not self.payer_id


class FeeScheduleEntry(models.Model):
    schedule = models.ForeignKey(FeeSchedule, on_delete=models.CASCADE, related_name="entries")
    code = models.CharField(max_length=5)  # CPT or HCPCS Level II
    modifiers = models.CharField(max_length=11, blank=True)  # "25:59" in line order; "" prices the bare code
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        db_table = "billing_fee_schedule_entry"
        ordering = ["code", "modifiers"]
        constraints = [models.UniqueConstraint(fields=["schedule", "code", "modifiers"], name="billing_fee_unique")]

    def __str__(self) -> str:
        return f"{self.code}{'-' + self.modifiers if self.modifiers else ''} {self.price}"


class ProcedureDescription(models.Model):
    """A CPT description from a licensed file (`mederi cpt-import`); preferred over the shipped short wording."""

    code = models.CharField(max_length=5, unique=True)
    description = models.CharField(max_length=300)

    class Meta:
        db_table = "billing_procedure_description"


class BatchClaim(models.Model):
    """Which Claim went out in which 837P file (an `Interchange`), to find it again from a 999 or 277CA."""

    interchange = models.ForeignKey("billing.Interchange", on_delete=models.PROTECT, related_name="claims")
    claim_id = models.CharField(max_length=64, db_index=True)  # the Claim's logical id
    claim_number = models.CharField(max_length=38, db_index=True)  # CLM01
    file_name = models.CharField(max_length=120)  # as handed to the clearinghouse

    class Meta:
        db_table = "billing_batch_claim"


class SubmissionRun(models.Model):
    """A batch submission running as a job: which claims, how far it got and what happened to each.

    The claims page polls it (htmx) to show progress while the job sends one payer batch at a time.
    """

    QUEUED, RUNNING, FINISHED = "queued", "running", "finished"
    STATES = [(QUEUED, "Waiting to start"), (RUNNING, "Sending"), (FINISHED, "Finished")]

    claim_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)  # claims handled, sent or not
    sent = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED)
    problems = models.JSONField(default=list)  # one line per claim that was not sent, saying why
    started_by = models.CharField(max_length=150)
    created = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "billing_submission_run"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)
