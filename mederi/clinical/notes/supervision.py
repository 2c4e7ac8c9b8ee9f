"""Supervised clinicians and their co-signing physician.

The flag lives in the record, on the supervised clinician's Practitioner: an extension
`urn:mederi:supervising-practitioner` whose valueReference names the Practitioner who co-signs
their notes. A supervised clinician's signature is a `professional` attestation; the note then
awaits the supervisor's `legal` one.
"""

from __future__ import annotations

from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import Gone, InvalidRequest, NotFound
from mederi.fhir.repository import Repository

PROFESSIONAL, LEGAL = "professional", "legal"


def supervisor_of(repo: Repository, practitioner_id: str | None) -> str | None:
    """The Practitioner id of whoever co-signs this practitioner's notes, or None."""
    if not practitioner_id:
        return None
    try:
        practitioner = repo.read("Practitioner", practitioner_id).as_dict()
    except (NotFound, Gone):
        return None
    for extension in practitioner.get("extension") or ():
        if extension.get("url") == systems.SUPERVISING_PRACTITIONER:
            reference = (extension.get("valueReference") or {}).get("reference") or ""
            if reference.startswith("Practitioner/"):
                return reference.removeprefix("Practitioner/")
    return None


def set_supervisor(context: Context, practitioner_id: str, supervisor_id: str | None) -> None:
    """Flag a practitioner as supervised by `supervisor_id` (None: no longer supervised)."""
    repo = Repository(context)
    if supervisor_id == practitioner_id:
        raise InvalidRequest.single("a practitioner cannot supervise themselves", expression="supervisor")
    if supervisor_id:
        try:
            repo.read("Practitioner", supervisor_id)
        except (NotFound, Gone):
            raise InvalidRequest.single(f"there is no practitioner '{supervisor_id}'", expression="supervisor") from None
    current = repo.read("Practitioner", practitioner_id)
    body = current.as_dict()
    kept = [e for e in body.get("extension") or () if e.get("url") != systems.SUPERVISING_PRACTITIONER]
    if supervisor_id:
        kept.append({"url": systems.SUPERVISING_PRACTITIONER,
                     "valueReference": {"reference": f"Practitioner/{supervisor_id}"}})
    if kept:
        body["extension"] = kept
    else:
        body.pop("extension", None)
    repo.update("Practitioner", practitioner_id, body, if_match=current.version_id)


def attesters(composition: dict, mode: str) -> list[dict]:
    return [a for a in composition.get("attester") or () if a.get("mode") == mode]


def awaiting_cosignature(composition: dict) -> bool:
    """Signed by a supervised clinician and not yet by anyone who answers for it legally."""
    return (composition.get("status") in ("final", "amended") and bool(attesters(composition, PROFESSIONAL))
            and not attesters(composition, LEGAL))


def cosigner_due(repo: Repository, composition: dict) -> str | None:
    """The Practitioner id of the supervisor whose co-signature the note awaits."""
    if not awaiting_cosignature(composition):
        return None
    reference = (attesters(composition, PROFESSIONAL)[0].get("party") or {}).get("reference") or ""
    return supervisor_of(repo, reference.removeprefix("Practitioner/")) if reference.startswith("Practitioner/") \
        else None
