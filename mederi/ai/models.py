"""The AI app's one table: each suggestion of a run, a draft until a person accepts or rejects it.

The run itself is in the record (a GuidanceResponse with its Provenance); these rows hold what a
screen needs to list, accept and reject the suggestions, and point back to the run.
"""

from django.db import models


class Suggestion(models.Model):
    DRAFT, ACCEPTED, REJECTED = "draft", "accepted", "rejected"
    STATUSES = ((DRAFT, "Draft"), (ACCEPTED, "Accepted"), (REJECTED, "Rejected"))

    run_id = models.CharField(max_length=64, db_index=True)  # GuidanceResponse id
    provenance_id = models.CharField(max_length=64)
    composition_id = models.CharField(max_length=64, db_index=True)
    patient_id = models.CharField(max_length=64)
    encounter_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16)  # "diagnosis" or "visit-level"
    code = models.CharField(max_length=16)
    display = models.CharField(max_length=300)
    score = models.FloatField()
    rank = models.PositiveSmallIntegerField()
    evidence_start = models.PositiveIntegerField(null=True)
    evidence_end = models.PositiveIntegerField(null=True)
    evidence = models.CharField(max_length=300, blank=True)
    reasoning = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=DRAFT)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True)
    condition_id = models.CharField(max_length=64, blank=True)  # the encounter diagnosis written on accept

    class Meta:
        db_table = "ai_suggestion"
        ordering = ["rank"]
