"""Operational tables of reminders: the practice's rules and every message they produce.

The appointments, patients and the Communications that record what was sent live in the FHIR
record; these tables hold what only the reminder machinery needs: when a message is due, how
far its delivery got, and what the provider called it.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q

EMAIL, SMS, VOICE = "email", "sms", "voice"
CHANNELS = [(EMAIL, "Email"), (SMS, "SMS text message"), (VOICE, "Voice call")]

DAYS, HOURS, MINUTES = "days", "hours", "minutes"
OFFSET_UNITS = [(DAYS, "days"), (HOURS, "hours"), (MINUTES, "minutes")]


class ReminderRule(models.Model):
    """Send `template` over `channel` this long before an appointment of this type starts."""

    name = models.CharField(max_length=100)
    # A code of systems.APPOINTMENT_TYPE; blank means every type.
    appointment_type = models.CharField(max_length=64, blank=True)
    offset_amount = models.PositiveIntegerField()
    # Days count calendar days at the practice (same wall-clock time); hours and minutes are exact durations.
    offset_unit = models.CharField(max_length=10, choices=OFFSET_UNITS)
    channel = models.CharField(max_length=10, choices=CHANNELS)
    template = models.TextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-active", "appointment_type", "channel", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def offset_text(self) -> str:
        unit = self.offset_unit if self.offset_amount != 1 else self.offset_unit.rstrip("s")
        return f"{self.offset_amount} {unit} before"

    @property
    def offset_duration(self) -> timedelta:
        """The offset as a duration (days as 24 hours): for sorting and limits, not for due times."""
        return timedelta(**{self.offset_unit: self.offset_amount})


class ReminderMessage(models.Model):
    """One reminder for one appointment, from being due to being delivered (or not)."""

    PENDING, SENDING, SENT, DELIVERED = "pending", "sending", "sent", "delivered"
    FAILED, SKIPPED, CANCELLED = "failed", "skipped", "cancelled"
    STATUSES = [
        (PENDING, "Pending"), (SENDING, "Sending"), (SENT, "Sent"), (DELIVERED, "Delivered"),
        (FAILED, "Failed"), (SKIPPED, "Skipped"), (CANCELLED, "Cancelled"),
    ]

    appointment_id = models.CharField(max_length=64, db_index=True)
    patient_id = models.CharField(max_length=64, blank=True)
    # Null for a reminder the front desk sent by hand.
    rule = models.ForeignKey(ReminderRule, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(max_length=10, choices=CHANNELS)
    due_at = models.DateTimeField()
    # When the sender may pick it up: the due time, later after a failed attempt (backoff).
    send_after = models.DateTimeField()
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    recipient = models.CharField(max_length=254, blank=True)  # the phone number (E.164 when known) or address
    body = models.TextField(blank=True)  # the text as sent
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    last_error = models.TextField(blank=True)  # why it failed, was skipped or cancelled, in words
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    communication_id = models.CharField(max_length=64, blank=True)  # the FHIR Communication recording it
    requested_by = models.CharField(max_length=150, blank=True)  # who pressed "Send reminder now"
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            # One message per rule and due time: recomputing never adds a second one.
            models.UniqueConstraint(fields=["appointment_id", "rule", "due_at"], name="reminder_once_per_rule"),
            # A button pressed twice within the same minute sends one message.
            models.UniqueConstraint(fields=["appointment_id", "channel", "due_at"], condition=Q(rule__isnull=True),
                                    name="reminder_once_by_hand"),
        ]
        indexes = [
            models.Index(fields=["status", "send_after"], name="reminder_due"),
            models.Index(fields=["recipient", "sent_at"], name="reminder_by_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} reminder for Appointment/{self.appointment_id} ({self.status})"


class EarlyDeliveryReport(models.Model):
    """A delivery report that arrived before its message's provider id was saved (a fast provider):
    kept, and applied as soon as the sender records the id."""

    provider_message_id = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=32)
    error_code = models.CharField(max_length=16, blank=True)
    received_at = models.DateTimeField()


class ReminderReply(models.Model):
    """A text a patient sent back, and what came of it."""

    CONFIRMED, CANCELLED, UNCLEAR, IGNORED = "confirmed", "cancelled", "unclear", "ignored"
    OPTED_OUT, OPTED_IN = "opted-out", "opted-in"
    OUTCOMES = [(CONFIRMED, "Confirmed"), (CANCELLED, "Cancelled"), (UNCLEAR, "Not understood"),
                (IGNORED, "Ignored"), (OPTED_OUT, "No more texts"), (OPTED_IN, "Texts welcome again")]

    message = models.ForeignKey(ReminderMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="replies")
    from_number = models.CharField(max_length=64)
    body = models.TextField()
    outcome = models.CharField(max_length=10, choices=OUTCOMES)
    detail = models.TextField(blank=True)  # what was answered, or why nothing was done
    provider_message_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["received_at", "id"]


class LocalOutboxMessage(models.Model):
    """What the in-process stand-in "sent" (MEDERI_SMS_PROVIDER / MEDERI_EMAIL_PROVIDER = standin-inprocess):
    kept here instead of leaving the machine, so a demo front desk can read it and answer as the patient."""

    OUT, IN = "out", "in"
    channel = models.CharField(max_length=10, choices=CHANNELS)
    direction = models.CharField(max_length=3, choices=[(OUT, "to the patient"), (IN, "from the patient")])
    to = models.CharField(max_length=254)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    provider_message_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
