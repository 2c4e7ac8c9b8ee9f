"""The claim status lifecycle, shared by claims (837P) and remittance (835).

A Claim's billing status is kept in the extension `urn:mederi:claim-status` (valueCode), since
Claim.status only says whether the resource is in force. Our side of the lifecycle (draft to
submitted, and the payer's acknowledgement: accepted or rejected) is written on the Claim itself.
The payer's adjudication (paid, denied, partially paid, or accepted again after a reversal) is
written on the ClaimResponse that carries the 835's answer (ClaimResponse.request = the Claim), in
the same extension: the Claim's current status is that of its latest such answer, else its own
(`current_statuses`). An 835 of ten thousand claims thus writes ten thousand answers, not ten
thousand new Claim versions as well. Every change goes through `with_status` or `can_move`, which
refuse a move the lifecycle does not allow:

    draft → scrubbed → submitted → accepted | rejected
    accepted → paid | denied | partially paid
    accepted → rejected (the clearinghouse's 999 accepted the file, the payer's 277CA rejects the claim)
    scrubbed → draft (edited again), rejected → draft (fixed, to be scrubbed and sent again)
    submitted → paid | denied | partially paid (an 835 may arrive without an acknowledgement)
    paid | denied | partially paid → each other, or back to accepted (a payer reversal or correction)

Corrected (frequency 7) and void (frequency 8) claims are new Claims that start at draft.
"""

from __future__ import annotations

from mederi.core import systems
from mederi.fhir import jsonio

EXTENSION_URL = systems.CLAIM_STATUS

DRAFT = "draft"
SCRUBBED = "scrubbed"
SUBMITTED = "submitted"
ACCEPTED = "accepted"
REJECTED = "rejected"
PAID = "paid"
DENIED = "denied"
PARTIALLY_PAID = "partially-paid"

LABELS = {
    DRAFT: "Draft",
    SCRUBBED: "Scrubbed",
    SUBMITTED: "Submitted",
    ACCEPTED: "Accepted",
    REJECTED: "Rejected",
    PAID: "Paid",
    DENIED: "Denied",
    PARTIALLY_PAID: "Partially paid",
}
STATUSES = tuple(LABELS)
_ADJUDICATED = {PAID, DENIED, PARTIALLY_PAID}

TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({SCRUBBED}),
    SCRUBBED: frozenset({DRAFT, SUBMITTED}),
    SUBMITTED: frozenset({ACCEPTED, REJECTED} | _ADJUDICATED),
    ACCEPTED: frozenset({REJECTED} | _ADJUDICATED),
    REJECTED: frozenset({DRAFT}),
    PAID: frozenset({ACCEPTED, DENIED, PARTIALLY_PAID}),
    DENIED: frozenset({ACCEPTED, PAID, PARTIALLY_PAID}),
    PARTIALLY_PAID: frozenset({ACCEPTED, PAID, DENIED}),
}


class InvalidTransition(ValueError):
    """A status change the lifecycle does not allow; the message says which moves are possible."""


def status_of(claim: dict) -> str:
    """The claim's billing status; a Claim without the extension is a draft."""
    for extension in claim.get("extension", ()):
        if extension.get("url") == EXTENSION_URL:
            return extension.get("valueCode", DRAFT)
    return DRAFT


def can_move(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, ())


def check_transition(current: str, new: str) -> None:
    if new not in LABELS:
        raise InvalidTransition(f"“{new}” is not a claim status; use one of: {', '.join(STATUSES)}.")
    if not can_move(current, new):
        allowed = ", ".join(LABELS[s] for s in STATUSES if s in TRANSITIONS[current]) or "none"
        raise InvalidTransition(
            f"A {LABELS[current].lower()} claim cannot become {LABELS[new].lower()} (possible next: {allowed})."
        )


def with_status(claim: dict, new: str) -> dict:
    """A copy of the Claim carrying the new status; raises InvalidTransition for a move not allowed."""
    check_transition(status_of(claim), new)
    return set_status(claim, new)


def set_status(claim: dict, status: str) -> dict:
    """A copy of the Claim with the status written without checking the move (a new Claim starts here)."""
    if status not in LABELS:
        raise InvalidTransition(f"“{status}” is not a claim status; use one of: {', '.join(STATUSES)}.")
    extensions = [e for e in claim.get("extension", ()) if e.get("url") != EXTENSION_URL]
    extensions.append({"url": EXTENSION_URL, "valueCode": status})
    return {**claim, "extension": extensions}


def claim_number(claim: dict) -> str | None:
    """CLM01 of the claim (the 835's CLP01): its identifier in the claim-number system."""
    for identifier in claim.get("identifier", ()):
        if identifier.get("system") == systems.CLAIM_NUMBER:
            return identifier.get("value")
    return None


def line_control_number(claim_number_value: str, sequence: int) -> str:
    """REF*6R of a service line (echoed in the 835's REF*6R): "<CLM01>-<item sequence>"."""
    return f"{claim_number_value}-{sequence}"


def adjudications(claim_ids: list[str]) -> dict[str, list[tuple[object, str]]]:
    """(when, status) of each Claim's 835 answers that set its status, oldest first.

    Read from the reference index (ClaimResponse.request) and the answers themselves; the Claims
    were read by the caller through the repository, access checked.
    """
    from mederi.fhir.models import Resource, SearchReference

    found: dict[str, list[tuple[object, str]]] = {}
    ids = sorted(set(claim_ids))
    for start in range(0, len(ids), 500):
        pairs = list(SearchReference.objects.filter(
            resource_type="ClaimResponse", param="request", target_type="Claim", target_id__in=ids[start:start + 500],
            resource__deleted=False).values_list("resource_id", "target_id"))
        if not pairs:
            continue
        rows = {pk: (updated, content) for pk, updated, content in Resource.objects.filter(
            pk__in=[pk for pk, _ in pairs]).values_list("pk", "last_updated", "content")}
        for pk, claim_id in sorted(pairs):  # pk order is the order the answers were written
            updated, content = rows[pk]
            if EXTENSION_URL in content:
                status = status_of(jsonio.loads(content))
                found.setdefault(claim_id, []).append((updated, status))
    return found


def current_statuses(claims: list[dict]) -> dict[str, str]:
    """Claim id -> its status now: its latest 835 answer's, else the one on the Claim."""
    answered = adjudications([claim["id"] for claim in claims])
    return {claim["id"]: answered[claim["id"]][-1][1] if claim["id"] in answered else status_of(claim)
            for claim in claims}
