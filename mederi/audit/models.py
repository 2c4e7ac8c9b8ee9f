"""The audit log: one row per access to, or change of, patient data and per security event.

Rows are only ever appended (database triggers refuse UPDATE, DELETE and TRUNCATE) and each
row carries the hash of its predecessor, so a changed, removed, inserted or reordered row shows
when the chain is verified (`mederi audit verify`). Write rows with `audit.services.record`.
"""

from django.db import models


class AuditEntry(models.Model):
    id = models.BigAutoField(primary_key=True)  # the chain order
    recorded = models.DateTimeField()
    action = models.CharField(max_length=32)  # read, search, create, login, break-glass, ...
    outcome = models.CharField(max_length=16)  # success, denied, error, not-found
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)  # a username, "system:import", "anonymous"
    actor_role = models.CharField(max_length=64, blank=True, default="")
    patient_id = models.CharField(max_length=64, null=True, blank=True)  # whose data was touched
    resource_type = models.CharField(max_length=64, blank=True, default="")
    resource_ids = models.TextField(blank=True, default="")  # "Type/id Type/id ..."
    query = models.TextField(blank=True, default="")  # the request path and query string
    remote_addr = models.CharField(max_length=64, blank=True, default="")
    purpose = models.CharField(max_length=64, blank=True, default="")
    detail = models.TextField(blank=True, default="")  # JSON object, or ""
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "audit_entry"
        ordering = ["id"]
        # No unique indexes on the hashes: a trigger refuses any row that does not chain from the
        # last entry (forks included; see triggers.py), and random 64-character keys made
        # every append dirty index pages all over the file.
        indexes = [
            models.Index(fields=["patient_id", "id"], name="audit_entry_patient"),
            models.Index(fields=["actor_user_id", "id"], name="audit_entry_actor"),
            models.Index(fields=["recorded"], name="audit_entry_recorded"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.recorded:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.outcome}"

    @property
    def references(self) -> list[str]:
        return self.resource_ids.replace(",", " ").split()

    def hashed_values(self) -> dict:
        from mederi.audit.chain import HASHED_FIELDS

        return {name: getattr(self, name) for name in HASHED_FIELDS}
