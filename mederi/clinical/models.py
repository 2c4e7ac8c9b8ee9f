"""Operational tables of clinical documentation (the documents themselves are FHIR resources).

A `DocumentSignature` says that a person signed one version of a Composition or
DocumentReference, and keeps the SHA-256 digest of that version's stored JSON: the bytes of
`fhir_resource_history.content`. A later change to the stored version no longer matches its
digest, and `mederi check` says so.
"""

from django.conf import settings
from django.db import models


class DocumentSignature(models.Model):
    resource_type = models.CharField(max_length=64)  # Composition or DocumentReference
    logical_id = models.CharField(max_length=64)
    version_id = models.PositiveIntegerField()  # the version that was signed (the one the signing wrote)
    sha256 = models.CharField(max_length=64)  # hex digest of that version's stored content (UTF-8)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    role = models.CharField(max_length=200, blank=True, default="")  # the signer's roles at the time
    purpose = models.CharField(max_length=64, default="legal")  # why they signed: the attestation mode

    class Meta:
        db_table = "clinical_document_signature"
        constraints = [
            # One signature per version: a signed version is amended, not signed again.
            models.UniqueConstraint(fields=["resource_type", "logical_id", "version_id"],
                                    name="clinical_signature_version"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.logical_id}/_history/{self.version_id} signed {self.signed_at:%Y-%m-%d}"

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.logical_id}"
