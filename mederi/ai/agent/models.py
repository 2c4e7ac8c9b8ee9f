"""The agent's operational tables: one conversation per patient and channel, and its turns.

The messages themselves are also in the record (Communication resources, the agent's with their
Provenance); these rows hold what the agent needs between two messages (its state, the slots it
offered) and what the staff screen lists.
"""

from django.db import models
from django.db.models import Q

CHANNELS = (("sms", "SMS"), ("email", "Email"), ("portal", "Portal"), ("voice", "Voice call"))


class Conversation(models.Model):
    OPEN = "open"  # nothing pending: the next message starts afresh
    OFFERING = "offering"  # slots were offered; the patient's pick books one
    CONFIRMING_CANCEL = "confirming-cancel"  # the agent asked "cancel it?"; yes cancels
    WITH_STAFF = "with-staff"  # handed over or taken over: the agent only records what arrives
    STATES = ((OPEN, "Open"), (OFFERING, "Slots offered"), (CONFIRMING_CANCEL, "Asked to confirm a cancellation"),
              (WITH_STAFF, "With a person"))

    channel = models.CharField(max_length=10, choices=CHANNELS)
    patient_id = models.CharField(max_length=64, blank=True, db_index=True)  # blank: the sender is not known
    address = models.CharField(max_length=254, blank=True)  # the phone number or email it came from
    state = models.CharField(max_length=20, choices=STATES, default=OPEN)
    appointment_id = models.CharField(max_length=64, blank=True)  # the appointment being talked about
    offered = models.JSONField(default=list, blank=True)  # [{"start", "practitioner_id", "location_id", "label"}]
    handover_reason = models.TextField(blank=True)  # why a person should answer, in words
    taken_by = models.CharField(max_length=150, blank=True)  # the staff member who took over
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "ai_agent_conversation"
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "patient_id"], condition=~Q(patient_id=""),
                                    name="ai_agent_one_conversation_per_patient_channel"),
            models.UniqueConstraint(fields=["channel", "address"], condition=Q(patient_id=""),
                                    name="ai_agent_one_conversation_per_unknown_sender"),
        ]


class Turn(models.Model):
    PATIENT, AGENT, STAFF, NOTE = "patient", "agent", "staff", "note"
    SPEAKERS = ((PATIENT, "Patient"), (AGENT, "Agent"), (STAFF, "Staff"), (NOTE, "Note for staff"))

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    speaker = models.CharField(max_length=10, choices=SPEAKERS)
    text = models.TextField()
    intent = models.CharField(max_length=32, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    outcome = models.CharField(max_length=32, blank=True)
    engine = models.CharField(max_length=200, blank=True)  # name, model and version of what understood it
    staff_name = models.CharField(max_length=150, blank=True)
    communication_id = models.CharField(max_length=64, blank=True)
    provenance_id = models.CharField(max_length=64, blank=True)
    task_id = models.CharField(max_length=64, blank=True)  # a Task the step put in a staff queue
    created_at = models.DateTimeField()

    class Meta:
        db_table = "ai_agent_turn"
        ordering = ["created_at", "id"]
