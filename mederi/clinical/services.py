"""Writes of clinical documentation: signing a document.

Signing writes the signed document through the repository (status final, the signer as an
attester or authenticator), then stores the SHA-256 digest of that new version's stored JSON
beside it, and logs the signature: all in one transaction. A signed version is never signed
again or edited in place; a change makes a new version, which can be signed in its turn.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from mederi.accounts.models import Profile
from mederi.audit import services as audit
from mederi.clinical.models import DocumentSignature
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import Conflict, Forbidden, InvalidRequest
from mederi.fhir.models import ResourceHistory
from mederi.fhir.repository import Repository

SIGNABLE_TYPES = ("Composition", "DocumentReference")
PERMISSION = "notes.sign"
ATTESTATION_MODE = "legal"


def content_digest(content: str) -> str:
    """The hex SHA-256 of stored JSON text, as its UTF-8 bytes."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _signer(context: Context):
    """The signer's user and the Reference that names them in the document."""
    user = get_user_model().objects.filter(pk=context.user_id, is_active=True).first()
    if user is None:
        raise Forbidden("only a signed-in person can sign a document")
    profile = Profile.objects.filter(user=user).first()
    name = (profile.full_name if profile else "") or user.get_full_name() or user.get_username()
    party = {"display": name}
    if profile is not None and profile.practitioner_id:
        party = {"reference": f"Practitioner/{profile.practitioner_id}", "display": name}
    return user, party


def _signed_composition(body: dict, party: dict, moment: str, mode: str = ATTESTATION_MODE) -> dict:
    status = body.get("status")
    if status == "entered-in-error":
        raise InvalidRequest.single("a Composition entered in error cannot be signed", expression="Composition.status")
    # A draft becomes final; an amendment stays `amended` (it is signed as the amendment it is).
    body["status"] = "amended" if status == "amended" else "final"
    body["attester"] = [*(body.get("attester") or []), {"mode": mode, "time": moment, "party": party}]
    return body


def _signed_document_reference(body: dict, party: dict) -> dict:
    if body.get("status") == "entered-in-error":
        raise InvalidRequest.single("a DocumentReference entered in error cannot be signed",
                                    expression="DocumentReference.status")
    body["docStatus"] = "amended" if body.get("docStatus") == "amended" else "final"
    body["authenticator"] = party  # the one who vouches for the document (0..1)
    return body


def sign_document(context: Context, resource_type: str, logical_id: str, *, mode: str = ATTESTATION_MODE,
                  countersign: bool = False) -> DocumentSignature:
    """Sign the current version of a Composition or DocumentReference as the person of `context`.

    `mode` is the Composition attester's mode: `legal` for the one who answers for the note,
    `professional` for a clinician whose notes a supervisor co-signs. `countersign` lets a second
    person sign a version someone else already signed (the co-signature); it writes a new version
    with their attester, signed in its turn. Nobody signs the same document twice.

    Raises InvalidRequest for another resource type, Forbidden without `notes.sign` (or the
    record permissions to read and change the document), NotFound/Gone for a missing document,
    and Conflict when the current version is already signed or changes meanwhile.
    """
    if resource_type not in SIGNABLE_TYPES:
        raise InvalidRequest.single(
            f"only {' and '.join(SIGNABLE_TYPES)} documents can be signed, not {resource_type}", code="not-supported")
    reference = f"{resource_type}/{logical_id}"
    if PERMISSION not in context.permissions:
        audit.record(context, "sign", "denied", resource_type=resource_type, resource_ids=[reference])
        raise Forbidden(f"your roles do not allow you to sign documents (it needs the permission {PERMISSION})")
    user, party = _signer(context)
    repo = Repository(context)
    with transaction.atomic():
        current = repo.read(resource_type, logical_id)
        if countersign and DocumentSignature.objects.filter(resource_type=resource_type, logical_id=logical_id,
                                                            signed_by=user).exists():
            raise Conflict(f"you have already signed {reference}")
        if not countersign and DocumentSignature.objects.filter(resource_type=resource_type, logical_id=logical_id,
                                                                version_id=current.version_id).exists():
            raise Conflict(f"version {current.version_id} of {reference} is already signed; "
                           "amend the document to sign a new version")
        moment = clock.now()
        body = current.as_dict()
        if resource_type == "Composition":
            body = _signed_composition(body, party, clock.fhir_instant(moment), mode)
        else:
            body = _signed_document_reference(body, party)
        stored = repo.update(resource_type, logical_id, body, if_match=current.version_id).stored
        # The digest is of the version exactly as the history keeps it, read back from there.
        content = ResourceHistory.objects.filter(resource_type=resource_type, logical_id=logical_id,
                                                 version_id=stored.version_id).values_list("content", flat=True).get()
        try:
            with transaction.atomic():
                signature = DocumentSignature.objects.create(
                    resource_type=resource_type, logical_id=logical_id, version_id=stored.version_id,
                    sha256=content_digest(content), signed_by=user, signed_at=moment,
                    role=(context.role or "")[:200], purpose=mode)
        except IntegrityError as exc:  # someone signed the same version meanwhile
            raise Conflict(f"version {stored.version_id} of {reference} is already signed") from exc
        audit.record(context, "sign", patient_id=audit.patient_of(body), resource_type=resource_type,
                     resource_ids=[reference],
                     detail={"version": stored.version_id, "sha256": signature.sha256, "mode": mode,
                             **({"countersign": True} if countersign else {})})
    return signature
