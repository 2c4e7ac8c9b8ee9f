"""Operational tables of denial risk: the models trained (version, window, what they learned) and each score.

The score itself is in the record (a RiskAssessment, status preliminary, with its Provenance); a `RiskScore`
row points to it and holds what the claims list needs to show many claims at once.
"""

from django.db import models

from mederi.core import clock


class DenialModel(models.Model):
    version = models.PositiveIntegerField(unique=True)
    trained_at = models.DateTimeField(default=clock.now)
    trained_by = models.CharField(max_length=150)  # a person (on demand) or system:<job> (the schedule)
    window_start = models.DateField()  # dates of service learned from: [start, end)
    window_end = models.DateField()
    lines = models.PositiveIntegerField()
    claims = models.PositiveIntegerField()
    denied = models.PositiveIntegerField()  # lines denied
    parameters = models.JSONField()  # model.Model.as_dict(): slice counts, weights, rates

    class Meta:
        db_table = "ai_denial_model"
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"denial-risk model {self.version} ({self.window_start} to {self.window_end})"


class RiskScore(models.Model):
    claim_id = models.CharField(max_length=64)
    claim_version = models.PositiveIntegerField()  # the Claim version scored
    claim_number = models.CharField(max_length=40, blank=True)
    patient_id = models.CharField(max_length=64)
    model_version = models.PositiveIntegerField(default=0)  # 0: no model yet, the rules alone
    probability = models.FloatField()
    rules_probability = models.FloatField()
    reasons = models.JSONField(default=list)  # [{"text", "weight", "source"}], strongest first
    risk_assessment_id = models.CharField(max_length=64)
    provenance_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150)

    class Meta:
        db_table = "ai_denial_score"
        indexes = [models.Index(fields=["claim_id", "-created_at"], name="ai_denial_score_claim")]
        constraints = [models.UniqueConstraint(fields=["claim_id", "claim_version", "model_version"],
                                               name="ai_denial_score_once")]

    HIGH, MEDIUM = 0.35, 0.15

    @property
    def level(self) -> str:
        return "high" if self.probability >= self.HIGH else "medium" if self.probability >= self.MEDIUM else "low"

    @property
    def percent(self) -> int:
        return round(self.probability * 100)

    @property
    def rules_percent(self) -> int:
        return round(self.rules_probability * 100)
