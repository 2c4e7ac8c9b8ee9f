"""Operational tables of the patient-facing pages.

A questionnaire invite is the link the front desk hands a patient before a visit. The link's token
is the only authority the patient's page has, so only its SHA-256 digest is kept: a copy of this
table cannot be turned back into working links. The questionnaire, the patient, the appointment and
the answers (a QuestionnaireResponse) live in the FHIR record; this row ties them together.
"""

from __future__ import annotations

from django.db import models


class QuestionnaireInvite(models.Model):
    """One appointment's pre-visit questionnaire link, from being given to being answered."""

    token_hash = models.CharField(max_length=64, unique=True)  # SHA-256 hex of the token in the link
    patient_id = models.CharField(max_length=64, db_index=True)
    appointment_id = models.CharField(max_length=64)  # indexed with completed_at below
    questionnaire_id = models.CharField(max_length=64)  # the Questionnaire's logical id
    created = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    # A link given again for the same open invite gets a new token; the old one stops working.
    issued = models.DateTimeField()
    issued_by = models.CharField(max_length=150)
    times_issued = models.PositiveIntegerField(default=1)
    expires = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    response_id = models.CharField(max_length=64, blank=True)  # the QuestionnaireResponse's logical id

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["appointment_id", "completed_at"], name="portal_invite_open")]

    def __str__(self) -> str:
        return f"questionnaire {self.questionnaire_id} for Appointment/{self.appointment_id}"

    @property
    def reference(self) -> str:
        return f"QuestionnaireInvite/{self.pk}"

    def is_expired(self, moment) -> bool:
        return self.expires <= moment

    def is_open(self, moment) -> bool:
        return self.completed_at is None and not self.is_expired(moment)
