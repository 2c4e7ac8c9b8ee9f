"""What happened to each CDS card shown: the per-visit memory that keeps an alert from repeating,
and the record of who overrode it and why (the audit log holds the same, chained)."""

from django.conf import settings
from django.db import models


class CardRecord(models.Model):
    SHOWN, ACCEPTED, OVERRIDDEN = "shown", "accepted", "overridden"

    uuid = models.CharField(max_length=64, unique=True)  # the card's uuid, as the client sends it back
    service_id = models.CharField(max_length=64)
    hook_instance = models.CharField(max_length=64, blank=True, default="")
    patient_id = models.CharField(max_length=64)
    encounter_id = models.CharField(max_length=64, blank=True, default="")  # the visit; "" when none was named
    key = models.CharField(max_length=200)  # the alert's cause: the same cause gives the same key
    summary = models.CharField(max_length=200)
    indicator = models.CharField(max_length=16)
    status = models.CharField(max_length=16, default=SHOWN)
    override_code = models.CharField(max_length=64, blank=True, default="")
    override_comment = models.TextField(blank=True, default="")
    shown_at = models.DateTimeField()
    outcome_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "cds_card_record"
        indexes = [models.Index(fields=["encounter_id", "key"], name="cds_card_visit_key")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.key} ({self.status})"
