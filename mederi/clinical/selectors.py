"""Reads of clinical documentation: signatures, and whether the signed versions are intact."""

from __future__ import annotations

from django.db import connection

from mederi.clinical.models import DocumentSignature
from mederi.clinical.services import content_digest

# Every signature beside the history row of the version it signed (NULL content when the row is gone).
_SIGNED_VERSIONS_SQL = (
    "SELECT s.resource_type, s.logical_id, s.version_id, s.sha256, h.id, h.content "
    "FROM clinical_document_signature s LEFT JOIN fhir_resource_history h "
    "ON h.resource_type = s.resource_type AND h.logical_id = s.logical_id AND h.version_id = s.version_id "
    "ORDER BY s.id"
)


def signatures_of(resource_type: str, logical_id: str) -> list[DocumentSignature]:
    """The signatures of one document, oldest first."""
    return list(DocumentSignature.objects.filter(resource_type=resource_type, logical_id=logical_id)
                .select_related("signed_by").order_by("version_id"))


def signature_count() -> int:
    return DocumentSignature.objects.count()


def verify_signatures() -> list[str]:
    """Recompute the digest of every signed version from the history; one line per problem.

    A version whose history row is missing, or whose stored content no longer hashes to the
    digest taken when it was signed, was changed outside the record.
    """
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(_SIGNED_VERSIONS_SQL)
        while rows := cursor.fetchmany(500):
            for resource_type, logical_id, version_id, digest, history_id, content in rows:
                name = f"{resource_type}/{logical_id} version {version_id}"
                if history_id is None:
                    problems.append(f"{name}: the signed version is missing from the history")
                elif content_digest(content) != digest:
                    problems.append(f"{name}: the stored content does not match its signature "
                                    f"(SHA-256 {content_digest(content)}, signed {digest})")
    return problems
