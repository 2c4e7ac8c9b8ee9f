"""Operational tables of the HL7 interfaces (the orders and results themselves are FHIR resources).

- `LabConnection`: where a lab's MLLP listener is, and the facility ids both sides use in MSH;
- `OutboundOrder`: one ORM^O01 message for one order, with what became of it (sent, acknowledged,
  refused with the lab's reason), claimed by one worker at a time so it is never sent twice;
- `DeadLetter`: every message the listener refused, kept as it arrived with the reason, for a
  person to review and replay once the cause is fixed.
"""

from django.conf import settings
from django.db import models

from mederi.core import clock


class LabConnection(models.Model):
    MLLP, STANDIN = "mllp", "standin"
    TRANSPORTS = [(MLLP, "MLLP over TCP"), (STANDIN, "Built-in stand-in lab (demo and tests, no network)")]

    name = models.CharField(max_length=200, unique=True)
    transport = models.CharField(max_length=10, choices=TRANSPORTS, default=MLLP)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    sending_application = models.CharField(max_length=180, default="MEDERI")  # MSH-3: us
    sending_facility = models.CharField(max_length=180)  # MSH-4: the practice, as the lab knows it
    receiving_application = models.CharField(max_length=180, blank=True)  # MSH-5: the lab's system
    receiving_facility = models.CharField(max_length=180)  # MSH-6: the lab
    timeout_seconds = models.PositiveSmallIntegerField(default=30)
    active = models.BooleanField(default=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "interop_lab_connection"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return "built-in stand-in lab" if self.transport == self.STANDIN else f"{self.host}:{self.port}"


class OutboundOrder(models.Model):
    QUEUED, SENDING, SENT, ACCEPTED, REFUSED, FAILED = "queued", "sending", "sent", "accepted", "refused", "failed"
    STATES = [(QUEUED, "Waiting to be sent"), (SENDING, "Sending"), (SENT, "Sent, no answer yet"),
              (ACCEPTED, "Accepted by the lab"), (REFUSED, "Refused by the lab"), (FAILED, "Could not be sent")]

    lab = models.ForeignKey(LabConnection, on_delete=models.PROTECT, related_name="orders")
    control_id = models.CharField(max_length=20, unique=True)  # MSH-10: the lab answers with it in MSA-2
    patient_id = models.CharField(max_length=64, db_index=True)
    service_request_ids = models.JSONField(default=list)
    content = models.TextField()  # the ORM^O01 as sent (CR between segments)
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # why it could not be sent, or the lab's reason for refusing
    answer = models.TextField(blank=True)  # the lab's ACK as received
    created = models.DateTimeField(default=clock.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "interop_outbound_order"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"ORM {self.control_id} to {self.lab_id}: {self.state}"


class DeadLetter(models.Model):
    NEW, REPLAYED, DISMISSED = "new", "replayed", "dismissed"
    STATES = [(NEW, "To review"), (REPLAYED, "Replayed and accepted"), (DISMISSED, "Dismissed")]

    received = models.DateTimeField(default=clock.now, db_index=True)
    content = models.TextField()  # the message as it arrived (decoded; bad frames as far as they came)
    message_type = models.CharField(max_length=20, blank=True)  # ORU^R01, when it could be read
    control_id = models.CharField(max_length=200, blank=True)
    sender = models.CharField(max_length=200, blank=True)  # MSH-3^MSH-4
    error = models.TextField()
    location = models.CharField(max_length=20, blank=True)  # OBX-5, PID-3 ...
    state = models.CharField(max_length=10, choices=STATES, default=NEW, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        db_table = "interop_dead_letter"
        ordering = ["-received"]

    def __str__(self) -> str:
        return f"{self.message_type or 'message'} {self.control_id} refused {self.received:%Y-%m-%d %H:%M}: {self.error}"
