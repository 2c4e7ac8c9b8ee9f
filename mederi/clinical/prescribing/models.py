"""The messages sent to the pharmacy network (the prescriptions themselves are MedicationRequests).

One `ErxMessage` per NewRx or CancelRx, kept as sent with what became of it. A worker claims it
with a conditional UPDATE before sending, so it goes out once; a network that could not be
reached is tried again later, one that took the message and did not answer is not resent.
"""

from django.db import models

from mederi.core import clock


class ErxMessage(models.Model):
    NEW_RX, CANCEL_RX = "NewRx", "CancelRx"
    QUEUED, SENDING, SENT, ACCEPTED, ERROR, FAILED = "queued", "sending", "sent", "accepted", "error", "failed"
    STATES = [(QUEUED, "Waiting to be sent"), (SENDING, "Sending"), (SENT, "Sent, no answer yet"),
              (ACCEPTED, "Accepted by the pharmacy"), (ERROR, "Refused by the network or pharmacy"),
              (FAILED, "Could not be sent")]

    kind = models.CharField(max_length=10, default=NEW_RX)
    message_id = models.CharField(max_length=40, unique=True)  # Header/MessageID; the answer names it
    medication_request_id = models.CharField(max_length=64, db_index=True)
    patient_id = models.CharField(max_length=64)
    pharmacy_ncpdp = models.CharField(max_length=7)
    content = models.TextField()  # the SCRIPT XML exactly as sent
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    answer = models.TextField(blank=True)  # the network's Status or Error as received
    created = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "prescribing_erx_message"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id}: {self.state}"
