"""The scribe's operational tables: a recording's progress through transcription and drafting, and
each part of its draft (a note section or a finding) until a person accepts or rejects it.

What the clinician keeps is written to the record: the draft itself as a preliminary
DocumentReference with its Provenance, and accepted parts through the clinical services. These rows
hold what the screens need to show progress and decide each part.
"""

from django.db import models


class Recording(models.Model):
    QUEUED, TRANSCRIBING, DRAFTING, READY, FAILED = "queued", "transcribing", "drafting", "ready", "failed"
    STATUSES = ((QUEUED, "Waiting"), (TRANSCRIBING, "Transcribing"), (DRAFTING, "Drafting the note"),
                (READY, "Draft ready"), (FAILED, "Could not be used"))

    patient_id = models.CharField(max_length=64)
    encounter_id = models.CharField(max_length=64, db_index=True)
    started_by = models.CharField(max_length=150)  # username: the task acts as this person
    created_at = models.DateTimeField()
    audio_file = models.CharField(max_length=300, blank=True)  # under MEDERI_SCRIBE_AUDIO_DIR; removed on failure
    audio_sha256 = models.CharField(max_length=64)
    audio_type = models.CharField(max_length=100)
    audio_seconds = models.FloatField(null=True)
    status = models.CharField(max_length=12, choices=STATUSES, default=QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    message = models.TextField(blank=True)  # why it could not be used
    turns = models.JSONField(default=list)  # [{"speaker", "text", "start", "end"}]
    speakers_swapped = models.BooleanField(default=False)
    transcribe_seconds = models.FloatField(null=True)
    draft_seconds = models.FloatField(null=True)
    document_id = models.CharField(max_length=64, blank=True)  # the preliminary DocumentReference
    provenance_id = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "ai_scribe_recording"
        ordering = ["-created_at"]


class DraftPart(models.Model):
    DRAFT, ACCEPTED, REJECTED = "draft", "accepted", "rejected"
    STATUSES = ((DRAFT, "Draft"), (ACCEPTED, "Accepted"), (REJECTED, "Rejected"))
    SECTION = "section"  # other kinds are the finding kinds: problem, medication, allergy, vital, order

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="parts")
    kind = models.CharField(max_length=12)
    key = models.CharField(max_length=40, blank=True)  # a section's key
    display = models.CharField(max_length=300)
    text = models.TextField(blank=True)  # a section's text
    system = models.CharField(max_length=200, blank=True)
    code = models.CharField(max_length=40, blank=True)
    value = models.CharField(max_length=100, blank=True)
    turn = models.IntegerField(null=True)
    start = models.IntegerField(null=True)
    end = models.IntegerField(null=True)
    negated = models.BooleanField(default=False)
    uncertain = models.BooleanField(default=False)
    rank = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=STATUSES, default=DRAFT)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True)
    written = models.CharField(max_length=100, blank=True)  # what accepting wrote, e.g. "Condition/abc"

    class Meta:
        db_table = "ai_scribe_part"
        ordering = ["rank"]
