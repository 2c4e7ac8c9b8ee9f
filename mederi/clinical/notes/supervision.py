"""Supervised clinicians and their co-signing physician.

The flag lives in the record, on the supervised clinician's Practitioner: an extension
`urn:mederi:supervising-practitioner` whose valueReference names the Practitioner who co-signs
their notes. A supervised clinician's signature is a `professional` attestation; the note then
awaits the supervisor's `legal` one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from mederi.audit import services as audit
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
        return _supervisor_in(repo.read("Practitioner", practitioner_id).as_dict())
    except (NotFound, Gone):
        return None


PERMISSION = "directory.write"  # the flag is part of the practitioner's directory entry
PHYSICIAN_DEGREES = {"MD", "DO"}  # HL7 table 0360: who may answer for a supervised clinician's notes


@dataclass
class SupervisionRow:
    id: str
    name: str
    qualifications: str
    active: bool
    supervisor_id: str
    supervisor_name: str


def _degrees(practitioner: dict) -> set[str]:
    return {c.get("code") for q in practitioner.get("qualification") or () for c in (q.get("code") or {}).get("coding") or ()
            if c.get("system") == systems.QUALIFICATION and c.get("code")}


def is_active_physician(practitioner: dict) -> bool:
    return practitioner.get("active", True) is not False and bool(_degrees(practitioner) & PHYSICIAN_DEGREES)


def _practitioners(repo: Repository) -> dict[str, dict]:
    found = repo.search("Practitioner", [("_count", "1000")], first_page_only=True).matches
    return {stored.logical_id: stored.as_dict() for stored in found}


def supervision_list(context: Context) -> list[SupervisionRow]:
    """Every practitioner with the physician who co-signs their notes (if any), by name."""
    from mederi.scheduling.records import person_name

    people = _practitioners(Repository(context))
    rows = []
    for practitioner_id, practitioner in people.items():
        supervisor_id = _supervisor_in(practitioner) or ""
        rows.append(SupervisionRow(practitioner_id, person_name(practitioner, practitioner_id),
                                   ", ".join(sorted(_degrees(practitioner))), practitioner.get("active", True) is not False,
                                   supervisor_id, person_name(people.get(supervisor_id), supervisor_id)))
    return sorted(rows, key=lambda row: (not row.active, row.name.lower(), row.id))


def physician_choices(context: Context, excluding: str = "") -> list[tuple[str, str]]:
    """(id, name) of the active physicians who can supervise, by name."""
    from mederi.scheduling.records import person_name

    people = _practitioners(Repository(context))
    return sorted(((pid, person_name(p, pid)) for pid, p in people.items() if pid != excluding and is_active_physician(p)),
                  key=lambda choice: choice[1].lower())


def _supervisor_in(practitioner: dict) -> str | None:
    for extension in practitioner.get("extension") or ():
        if extension.get("url") == systems.SUPERVISING_PRACTITIONER:
            reference = (extension.get("valueReference") or {}).get("reference") or ""
            if reference.startswith("Practitioner/"):
                return reference.removeprefix("Practitioner/")
    return None


def set_supervisor(context: Context, practitioner_id: str, supervisor_id: str | None) -> None:
    """Flag a practitioner as supervised by `supervisor_id` (None: no longer supervised); audited.

    The supervisor must be someone else, an active physician (MD or DO) in the directory. A refusal
    names the field and changes nothing.
    """
    context.require(PERMISSION, f"your roles do not allow changing who supervises whom (it needs {PERMISSION})")
    repo = Repository(context)
    try:
        current = repo.read("Practitioner", practitioner_id)
    except (NotFound, Gone):
        raise NotFound(f"there is no practitioner '{practitioner_id}'") from None
    supervisor_id = (supervisor_id or "").strip() or None
    if supervisor_id == practitioner_id:
        raise InvalidRequest.single("a practitioner cannot supervise themselves: choose another physician",
                                    expression="supervisor")
    if supervisor_id:
        try:
            supervisor = repo.read("Practitioner", supervisor_id).as_dict()
        except (NotFound, Gone):
            raise InvalidRequest.single(f"there is no practitioner '{supervisor_id}'", expression="supervisor") from None
        if not is_active_physician(supervisor):
            raise InvalidRequest.single(
                "the supervisor must be an active physician (MD or DO in the provider directory)", expression="supervisor")
    body = current.as_dict()
    before = _supervisor_in(body)
    if before == supervisor_id:
        return
    kept = [e for e in body.get("extension") or () if e.get("url") != systems.SUPERVISING_PRACTITIONER]
    if supervisor_id:
        kept.append({"url": systems.SUPERVISING_PRACTITIONER,
                     "valueReference": {"reference": f"Practitioner/{supervisor_id}"}})
    if kept:
        body["extension"] = kept
    else:
        body.pop("extension", None)
    with transaction.atomic():
        repo.update("Practitioner", practitioner_id, body, if_match=current.version_id)
        audit.record(context, "supervision-change", resource_type="Practitioner", resource_ids=[f"Practitioner/{practitioner_id}"],
                     detail={"practitioner": practitioner_id, "supervisor": supervisor_id, "before": before})


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
