"""What the TA1, 999 and 277CA answering a claim file do: claims accepted or rejected, rejections queued.

- A **TA1** (the clearinghouse's interchange acknowledgement) names the claim file by its ISA13.
  Refused (R), the whole file was not read: every claim in it moves submitted → rejected, with the
  note code in words, and must be sent again. Received (A, or E with errors noted) changes no claim:
  the 999 that follows says what became of them.

- A **999** (the clearinghouse's implementation acknowledgement) names the claim file's group by its
  GS06 (which the 837 writer sets to the file's own control number) and each transaction set by its
  ST02. Every claim in an accepted set moves submitted → accepted; every claim in a rejected set
  moves to rejected, with the IK3/IK4 errors in words (the one the error's CTX names first).
- A **277CA** (the payer's claim acknowledgement) names each claim by its CLM01: a status category
  of A0/A1/A2/A5 accepts it, A3/A4/A6/A7/A8 (or action code U) rejects it, with the status code
  and entity in words.

Each answer about a claim is kept as a `ClaimAcknowledgement` (a rejected one is the rejections
work queue) and as a FHIR ClaimResponse (outcome queued or error) beside the Claim; the Claim's
status moves in the same database transaction. A file that cannot be read, or that answers a claim
file never sent, changes nothing and says why. The same answer arriving again (in another file)
is recognised by its `source_key` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from mederi.billing import claim_status
from mederi.billing.claims.submit import _payer_of, require_submitting
from mederi.billing.claims.tables import BatchClaim
from mederi.billing.models import Interchange
from mederi.billing.remittance.resources import stable_id
from mederi.billing.x12.acknowledgement import parse_277ca, parse_999, parse_ta1
from mederi.billing.x12.acknowledgement_writer import submitted_claims
from mederi.billing.x12.envelope import X12Error
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.fhir.repository import Repository

from .models import ClaimAcknowledgement, InboundFile

CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
# The X12 code lists the ClaimResponse errors are coded in: 277CA status category:code, 999 IK5/AK9 codes.
CLAIM_STATUS_CODES = "https://x12.org/codes/claim-status-codes"
ACKNOWLEDGEMENT_CODES = "urn:mederi:x12-999-acknowledgement"


# An acceptance only moves a claim waiting for one; a rejection may also undo a 999's acceptance.
_MOVES_FROM = {claim_status.ACCEPTED: {claim_status.SUBMITTED},
               claim_status.REJECTED: {claim_status.SUBMITTED, claim_status.ACCEPTED}}


@dataclass
class Answer:
    """What one acknowledgement says about one claim."""

    claim_number: str
    accepted: bool
    codes: str
    explanation: str
    source_key: str
    claim_id: str = ""


def _unreadable(name: str, error: X12Error) -> InvalidRequest:
    return InvalidRequest.single(f"{name} cannot be read: {error}; nothing was changed", expression="file")


def answers_of_999(data: bytes | str, name: str) -> tuple[list[Answer], list[str]]:
    """The 999's answer for every claim of the files it acknowledges, and notes about groups not for claims."""
    try:
        acknowledgements = parse_999(data)
    except X12Error as error:
        raise _unreadable(name, error) from None
    answers, notes = [], []
    for ack in acknowledgements:
        for group in ack.groups:
            if group.functional_id != "HC":
                notes.append(f"group {group.control_number} acknowledges {group.functional_id} files, not claims")
                continue
            sent = _claim_file(group.control_number, name)
            by_set = {s.control_number.lstrip("0"): s for s in group.sets}
            groups = [found for found in submitted_claims(sent.content)
                      if found.control_number.lstrip("0") == group.control_number.lstrip("0")]
            if not groups:  # a file sent before claim files numbered their group with their own ISA13
                raise InvalidRequest.single(f"{name} acknowledges claim group {group.control_number}, which matches "
                                            "no claim file sent from here; nothing was changed", expression="file")
            claims = [claim for found in groups for claim in found.claims]
            known_sets = {claim.set_control_number.lstrip("0") for claim in claims}
            strangers = sorted(set(by_set) - known_sets)
            if strangers:
                raise InvalidRequest.single(f"{name} answers transaction set {strangers[0]} of claim file "
                                            f"{sent.request_id}, which has no such set; nothing was changed")
            claim_ids = dict(BatchClaim.objects.filter(interchange=sent).values_list("claim_number", "claim_id"))
            for claim in claims:
                answered = by_set.get(claim.set_control_number.lstrip("0"))
                if answered is None:  # no AK2 for the set: the group's verdict speaks for it
                    accepted, codes, words = group.accepted, f"AK9 {group.code}", group.words()
                else:
                    accepted = answered.accepted
                    codes = " ".join([f"IK5 {answered.code}", *answered.errors])
                    words = answered.words(claim.claim_number)
                answers.append(Answer(claim.claim_number, accepted, codes[:120],
                                      f"Clearinghouse (999 for file {sent.request_id}): {words}",
                                      f"999:{ack.sender_id}:{group.control_number}:{claim.set_control_number}:"
                                      f"{claim.claim_number}:{codes}"[:200],
                                      claim_ids.get(claim.claim_number, "")))
    return answers, notes


def answers_of_ta1(data: bytes | str, name: str) -> tuple[list[Answer], list[str]]:
    """A refusing TA1's answer for every claim of the file it names, and notes on the files it received."""
    try:
        acknowledgements = parse_ta1(data)
    except X12Error as error:
        raise _unreadable(name, error) from None
    answers, notes = [], []
    for ack in acknowledgements:
        sent = _claim_file(ack.control_number, name, "claim file")
        if not ack.refused:
            notes.append(f"claim file {sent.request_id} {ack.words()}")
            continue
        claim_ids = dict(BatchClaim.objects.filter(interchange=sent).values_list("claim_number", "claim_id"))
        for claim in (claim for group in submitted_claims(sent.content) for claim in group.claims):
            answers.append(Answer(
                claim.claim_number, False, f"TA1 R {ack.note}"[:120],
                f"Clearinghouse (TA1 for file {sent.request_id}): the whole file was {ack.words()}. Nothing in it "
                "was read: correct the file's envelope and send the claim again.",
                f"TA1:{ack.sender_id}:{ack.control_number}:{claim.claim_number}:R:{ack.note}"[:200],
                claim_ids.get(claim.claim_number, "")))
    return answers, notes


def _claim_file(group_control_number: str, name: str, what: str = "claim group") -> Interchange:
    """The claim file a 999 answers (the 837 whose ISA13, and so GS06, is the group control number), or
    a TA1 (`what` "claim file": the ISA13 itself)."""
    number = group_control_number.strip()
    sent = None
    if number.isdigit():
        sent = (Interchange.objects.filter(direction=Interchange.OUTBOUND, kind="837",
                                           control_number=f"{int(number):09d}").order_by("-pk").first())
    if sent is None:
        raise InvalidRequest.single(f"{name} acknowledges {what} {number}, which matches no claim file sent "
                                    "from here; nothing was changed", expression="file")
    return sent


def answers_of_277ca(data: bytes | str, name: str) -> list[Answer]:
    try:
        acknowledgements = parse_277ca(data)
    except X12Error as error:
        raise _unreadable(name, error) from None
    answers = []
    for ack in acknowledgements:
        for claim in ack.claims:
            codes = " ".join(":".join(p for p in (s.category, s.code, s.entity) if p) for s in claim.statuses)
            payer = ack.payer_name or ack.payer_id or "the payer"
            explanation = f"{payer} (277CA): {claim.words()}"
            if claim.payer_claim_number:
                explanation += f". Payer's claim number {claim.payer_claim_number}"
            answers.append(Answer(claim.claim_number, not claim.rejected, codes[:120], explanation,
                                  f"277:{ack.payer_id}:{ack.trace}:{claim.claim_number}:{codes}"[:200]))
    return answers


def apply_999(context: Context, data: bytes | str, *, name: str, inbound: InboundFile | None = None) -> str:
    """Read a 999 and move the claims it answers; returns what came of it, in words."""
    require_submitting(context)
    answers, notes = answers_of_999(data, name)
    return _apply(context, ClaimAcknowledgement.FUNCTIONAL, answers, name, inbound, notes)


def apply_ta1(context: Context, data: bytes | str, *, name: str, inbound: InboundFile | None = None) -> str:
    """Read a TA1: a refused claim file's claims are rejected; returns what came of it, in words."""
    require_submitting(context)
    answers, notes = answers_of_ta1(data, name)
    return _apply(context, ClaimAcknowledgement.INTERCHANGE, answers, name, inbound, notes)


def apply_277ca(context: Context, data: bytes | str, *, name: str, inbound: InboundFile | None = None) -> str:
    """Read a 277CA and move each claim it answers; returns what came of it, in words."""
    require_submitting(context)
    return _apply(context, ClaimAcknowledgement.PAYER, answers_of_277ca(data, name), name, inbound, [])


def _claim_ids(numbers: set[str]) -> dict[str, str]:
    """The Claim each claim number was last sent as."""
    found: dict[str, str] = {}
    for number, claim_id in BatchClaim.objects.filter(claim_number__in=numbers).order_by("pk").values_list(
            "claim_number", "claim_id"):
        found[number] = claim_id
    return found


def _apply(context: Context, kind: str, answers: list[Answer], name: str, inbound: InboundFile | None,
           notes: list[str]) -> str:
    repository = Repository(context)
    sent = _claim_ids({a.claim_number for a in answers if not a.claim_id})
    counts = {"accepted": 0, "rejected": 0, "again": 0, "unknown": 0}
    with transaction.atomic():
        recorded = set(ClaimAcknowledgement.objects.filter(source_key__in=[a.source_key for a in answers])
                       .values_list("source_key", flat=True))
        for answer in answers:
            if answer.source_key in recorded:
                counts["again"] += 1
                continue
            recorded.add(answer.source_key)
            claim_id = answer.claim_id or sent.get(answer.claim_number, "")
            patient_id = payer_id = ""
            if claim_id:
                change, patient_id, payer_id = _move_claim(repository, claim_id, answer, kind)
            else:
                change = "no claim with this number was sent from here"
                counts["unknown"] += 1
            counts["accepted" if answer.accepted else "rejected"] += 1
            ClaimAcknowledgement.objects.create(
                source_key=answer.source_key, inbound=inbound, file_name=name[:200], kind=kind,
                outcome=ClaimAcknowledgement.ACCEPTED if answer.accepted else ClaimAcknowledgement.REJECTED,
                claim_number=answer.claim_number[:40], claim_id=claim_id, patient_id=patient_id, payer_id=payer_id,
                codes=answer.codes, explanation=answer.explanation, status_change=change[:120])
    summary = (f"{kind} {name}: {counts['accepted']} claim(s) accepted, {counts['rejected']} rejected"
               + (f", {counts['again']} answered before" if counts["again"] else "")
               + (f", {counts['unknown']} not sent from here" if counts["unknown"] else ""))
    return "; ".join([summary, *notes])


def _move_claim(repository: Repository, claim_id: str, answer: Answer, kind: str) -> tuple[str, str, str]:
    """Move the Claim to accepted or rejected when its lifecycle allows; keep the answer as a ClaimResponse."""
    claim = repository.read("Claim", claim_id).as_dict()
    current = claim_status.current_statuses([claim])[claim_id]  # an 835's answer may have come first
    new = claim_status.ACCEPTED if answer.accepted else claim_status.REJECTED
    if current == new:
        change = f"already {claim_status.LABELS[current].lower()}"
    elif current in _MOVES_FROM[new] and claim_status.can_move(current, new):
        repository.update("Claim", claim_id, claim_status.set_status(claim, new))
        change = f"{claim_status.LABELS[current].lower()} → {claim_status.LABELS[new].lower()}"
    else:  # an 835 came first, or the claim was already rejected and is being fixed
        change = f"stays {claim_status.LABELS[current].lower()}"
    patient_id = claim["patient"]["reference"].split("/", 1)[1]
    try:
        payer_id = _payer_of(repository, claim)
    except (KeyError, IndexError, StopIteration):
        payer_id = ""
    response = {
        "resourceType": "ClaimResponse", "status": "active", "use": "claim",
        "type": {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]},
        "identifier": [{"system": "urn:mederi:claim-acknowledgement", "value": answer.source_key}],
        "patient": {"reference": f"Patient/{patient_id}"}, "created": clock.now().isoformat(),
        "insurer": {"reference": f"Organization/{payer_id}"} if payer_id else {"display": "clearinghouse"},
        "request": {"reference": f"Claim/{claim_id}"},
        "outcome": "queued" if answer.accepted else "error", "disposition": answer.explanation[:1000],
    }
    if not answer.accepted:
        system = CLAIM_STATUS_CODES if kind == ClaimAcknowledgement.PAYER else ACKNOWLEDGEMENT_CODES
        response["error"] = [{"code": {"coding": [{"system": system, "code": answer.codes.split(" ")[0]
                                                    if kind == ClaimAcknowledgement.PAYER else answer.codes}],
                                       "text": answer.explanation[:1000]}}]
    response_id = stable_id("ack", answer.source_key)
    repository.update("ClaimResponse", response_id, {**response, "id": response_id})
    return change, patient_id, payer_id

