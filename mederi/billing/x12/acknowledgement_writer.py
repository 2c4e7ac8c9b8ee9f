"""Writing the 999 and 277CA that answer an 837P, as a clearinghouse and a payer would.

The stand-in clearinghouse answers each 837 it receives with them; tests and the demo use them to
play the other side. `submitted_claims` reads what an 837P holds that an acknowledgement echoes
(groups, transaction sets, claims with their patient, charge, dates and lines); `build_999` accepts
every transaction set except those given errors; `build_277ca` accepts every claim except those a
`decide` function answers with a rejecting status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .acknowledgement import SegmentError, Status
from .envelope import Segment, Writer, element, parse_all
from .values import write_decimal, x12_date

IMPLEMENTATION_999 = "005010X231A1"
IMPLEMENTATION_277CA = "005010X214"
ACCEPTED = Status("A2", "20", "PR")  # accepted into adjudication by the payer


@dataclass
class SubmittedLine:
    procedure: str
    charge: Decimal
    control_number: str = ""  # REF*6R


@dataclass
class SubmittedClaim:
    claim_number: str  # CLM01
    charge: Decimal
    set_control_number: str  # ST02 of the transaction set it went in
    billing_name: str = ""
    billing_npi: str = ""
    patient_last: str = ""
    patient_first: str = ""
    member_id: str = ""
    service_date: dt.date | None = None
    lines: list[SubmittedLine] = field(default_factory=list)
    position: int = 0  # of its CLM segment in the transaction set, ST counting 1 (a 999's IK302)


@dataclass
class SubmittedGroup:
    functional_id: str
    control_number: str  # GS06
    version: str
    sets: list[tuple[str, str, str]] = field(default_factory=list)  # (ST01, ST02, ST03)
    claims: list[SubmittedClaim] = field(default_factory=list)
    sender_id: str = ""  # ISA06 of the 837: the practice's submitter id
    receiver_id: str = ""


def _date(value: str) -> dt.date | None:
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return None


def submitted_claims(data: str | bytes) -> list[SubmittedGroup]:
    """The groups, transaction sets and claims of an 837P (read leniently: it is our own or a test's file)."""
    groups = []
    for interchange in parse_all(data, strict=False):
        for group in interchange.groups:
            found = SubmittedGroup(group.functional_id, group.control_number, group.version,
                                   sender_id=interchange.sender_id, receiver_id=interchange.receiver_id)
            groups.append(found)
            for transaction_set in group.transactions:
                found.sets.append((transaction_set.id, transaction_set.control_number, transaction_set.implementation))
                _read_claims(transaction_set.body, transaction_set.control_number, interchange.delimiters, found)
    return groups


def _read_claims(body: list[Segment], set_control: str, delimiters, group: SubmittedGroup) -> None:
    billing, subscriber, patient, level = ("", ""), ("", "", ""), None, ""
    claim: SubmittedClaim | None = None
    for position, segment in enumerate(body, start=2):
        name = segment[0]
        if name == "HL":
            level = element(segment, 3)
            patient = None if level in ("20", "22") else patient
        elif name == "NM1" and element(segment, 1) == "85":
            billing = (element(segment, 3), element(segment, 9))
        elif name == "NM1" and element(segment, 1) == "IL":
            subscriber = (element(segment, 3), element(segment, 4), element(segment, 9))
        elif name == "NM1" and element(segment, 1) == "QC":
            patient = (element(segment, 3), element(segment, 4))
        elif name == "CLM":
            last, first = patient or subscriber[:2]
            claim = SubmittedClaim(element(segment, 1), Decimal(element(segment, 2) or "0"), set_control,
                                   billing[0], billing[1], last, first, subscriber[2], position=position)
            group.claims.append(claim)
        elif claim is not None and name == "SV1":
            code = delimiters.components(element(segment, 1))
            claim.lines.append(SubmittedLine(code[1] if len(code) > 1 else "", Decimal(element(segment, 2) or "0")))
        elif claim is not None and name == "REF" and element(segment, 1) == "6R" and claim.lines:
            claim.lines[-1].control_number = element(segment, 2)
        elif claim is not None and name == "DTP" and element(segment, 1) == "472" and claim.service_date is None:
            claim.service_date = _date(element(segment, 3))


def _writer(control_number: int, sender_id: str, receiver_id: str, when: dt.datetime) -> Writer:
    return Writer(sender_id=sender_id, receiver_id=receiver_id, control_number=control_number, when=when)


def build_ta1(submitted: str | bytes, *, control_number: int, sender_id: str, receiver_id: str,
              when: dt.datetime, code: str, note: str = "000") -> str:
    """The TA1 answering the interchange of `submitted` (read without trusting its envelope: that may be
    what is wrong): `code` A, E or R and the TA105 `note`."""
    text = submitted.decode("ascii", "replace") if isinstance(submitted, bytes) else submitted
    answered = text[90:99] if text.startswith("ISA") and len(text) >= 99 else "000000000"  # ISA13, fixed width
    writer = _writer(control_number, sender_id, receiver_id, when)
    received = when.strftime("%y%m%d"), when.strftime("%H%M")
    writer.interchange_acks.append(["TA1", answered if answered.isdigit() else "000000000", *received, code, note])
    return writer.text()


def build_999(submitted: str | bytes, *, control_number: int, sender_id: str, receiver_id: str,
              when: dt.datetime, errors: dict[str, list[SegmentError]] | None = None) -> str:
    """A 999 answering every group of the 837: a transaction set with `errors` (by ST02) is rejected."""
    errors = errors or {}
    writer = _writer(control_number, sender_id, receiver_id, when)
    for group in submitted_claims(submitted):
        body: list[Segment] = [["AK1", group.functional_id, group.control_number, group.version]]
        accepted = 0
        for set_id, set_control, implementation in group.sets:
            body.append(["AK2", set_id, set_control, implementation])
            found = errors.get(set_control, [])
            for error in found:
                body.append(["IK3", error.segment_id, error.position, error.loop, error.code])
                if error.claim_number:
                    body.append(["CTX", f"CLM01:{error.claim_number}"])
                for bad in error.elements:
                    body.append(["IK4", bad.position.replace(".", ":"), bad.reference, bad.code, bad.bad_value])
            body.append(["IK5", "R", "5"] if found else ["IK5", "A"])
            accepted += not found
        verdict = "A" if accepted == len(group.sets) else "R" if not accepted else "P"
        body.append(["AK9", verdict, str(len(group.sets)), str(len(group.sets)), str(accepted)])
        writer.add("999", body, implementation=IMPLEMENTATION_999)
    return writer.text()


def _money(value: Decimal) -> str:
    return write_decimal(value.quantize(Decimal("0.01")), "amount")


def build_277ca(submitted: str | bytes, *, control_number: int, sender_id: str, receiver_id: str, when: dt.datetime,
                payer_name: str, payer_id: str, decide: Callable[[SubmittedClaim], Status | None] | None = None,
                only_sets: set[str] | None = None) -> str:
    """A 277CA for the claims of the 837 (of the transaction sets in `only_sets`, when given).

    `decide(claim)` returns a rejecting Status (A3, A6, A7 ...) or None to accept the claim.
    """
    day = x12_date(when.date())
    writer = _writer(control_number, sender_id, receiver_id, when)
    for group in submitted_claims(submitted):
        claims = [c for c in group.claims if only_sets is None or c.set_control_number in only_sets]
        if not claims:
            continue
        answers = [(claim, (decide(claim) if decide else None) or ACCEPTED) for claim in claims]
        taken = [c for c, status in answers if not status.rejects]
        refused = [c for c, status in answers if status.rejects]
        body: list[Segment] = [
            ["BHT", "0085", "08", f"{control_number}{group.control_number}"[:30], day, when.strftime("%H%M"), "TH"],
            ["HL", "1", "", "20", "1"], ["NM1", "PR", "2", payer_name, "", "", "", "", "PI", payer_id],
            ["TRN", "1", f"{control_number}"], ["DTP", "050", "D8", day], ["DTP", "009", "D8", day],
            ["HL", "2", "1", "21", "1"], ["NM1", "41", "2", "SUBMITTER", "", "", "", "", "46", group.sender_id],
            ["TRN", "2", group.control_number],
            ["STC", "A1:19:PR", day, "WQ", _money(sum((c.charge for c in claims), Decimal(0)))],
            *_totals(taken, refused, "90", "AA"),
        ]
        number = 2
        for (name, npi), provider_claims in _by_provider(answers).items():
            number += 1
            provider = number
            body += [["HL", str(provider), "2", "19", "1"], ["NM1", "85", "2", name, "", "", "", "", "XX", npi],
                     ["TRN", "1", "0"],
                     ["STC", "A1:19:PR", "", "WQ", _money(sum((c.charge for c, _ in provider_claims), Decimal(0)))],
                     *_totals([c for c, s in provider_claims if not s.rejects],
                              [c for c, s in provider_claims if s.rejects], "QA", "QC")]
            for claim, status in provider_claims:
                number += 1
                body += [["HL", str(number), str(provider), "PT"],
                         ["NM1", "QC", "1", claim.patient_last, claim.patient_first, "", "", "", "MI",
                          claim.member_id or "UNKNOWN"],
                         ["TRN", "2", claim.claim_number],
                         ["STC", ":".join(p for p in (status.category, status.code, status.entity) if p), day,
                          "U" if status.rejects else "WQ", _money(claim.charge)]]
                if not status.rejects:
                    body.append(["REF", "1K", f"P{control_number}{claim.claim_number}"[:50]])
                service = claim.service_date or when.date()
                body.append(["DTP", "472", "D8", x12_date(service)])
        writer.add("277", body, implementation=IMPLEMENTATION_277CA)
    return writer.text()


def _totals(taken: list[SubmittedClaim], refused: list[SubmittedClaim], accepted_qty: str, rejected_qty: str):
    rows = []
    if taken:
        rows.append(["QTY", accepted_qty, str(len(taken))])
    if refused:
        rows.append(["QTY", rejected_qty, str(len(refused))])
    if taken:
        rows.append(["AMT", "YU", _money(sum((c.charge for c in taken), Decimal(0)))])
    if refused:
        rows.append(["AMT", "YY", _money(sum((c.charge for c in refused), Decimal(0)))])
    return rows


def _by_provider(answers):
    grouped: dict[tuple[str, str], list] = {}
    for claim, status in answers:
        grouped.setdefault((claim.billing_name or "PROVIDER", claim.billing_npi or "0000000000"), []).append(
            (claim, status))
    return grouped
