"""Reading the acknowledgements a clearinghouse and a payer send back for an 837: TA1, 999 and 277CA.

- `parse_ta1`: the interchange acknowledgements (TA1, between an ISA and its first GS): which file
  (TA101, the 837's ISA13), when it was received, and the verdict on its envelope (TA104 A/E/R,
  TA105 the note code). A clearinghouse sends one when the envelope itself is wrong, so nothing
  inside the file was read, or when the 837 asked for one (ISA14 = 1).

- `parse_999` (005010X231A1): for each functional group acknowledged (AK1, naming the 837's GS06)
  the answer to each transaction set (AK2 + IK5, naming its ST02) with the errors found (IK3
  segment, IK4 element, the claim they sit in from CTX*CLM01) and the group's verdict (AK9).
- `parse_277ca` (005010X214): each claim's status (loop 2200D: TRN02 is the claim's CLM01, STC the
  status category, code and entity), the payer's claim number (REF*1K) and line statuses.

Anything wrong raises `X12Error` naming the segment, with a sentence a person can act on; a reader
never half-reads a file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from . import ack_codes
from .envelope import Delimiters, Segment, X12Error, element, parse_all
from .values import read_date, read_decimal


@dataclass(frozen=True)
class InterchangeAcknowledgement:  # TA1
    sender_id: str  # who sent the TA1 (its own ISA06)
    control_number: str  # TA101: the ISA13 of the file it answers
    received: dt.datetime | None  # TA102 and TA103
    code: str  # TA104: A, E or R
    note: str  # TA105

    @property
    def refused(self) -> bool:
        return self.code == "R"

    def words(self) -> str:
        verdict = ack_codes.INTERCHANGE_ACK_CODES.get(self.code, f"TA1 code {self.code}")
        return verdict if self.note in ("", "000") else f"{verdict}; {ack_codes.interchange_note(self.note)}"


def parse_ta1(data: str | bytes) -> list[InterchangeAcknowledgement]:
    """Every TA1 in the file; a file without one is refused."""
    found = []
    for interchange in parse_all(data):
        for segment in interchange.interchange_acks:
            control, code = element(segment, 1), element(segment, 4)
            if not control.strip().isdigit():
                raise X12Error(f"TA101 must be the answered file's interchange control number, not {control!r}",
                               None, "TA1")
            if code not in ack_codes.INTERCHANGE_ACK_CODES:
                raise X12Error(f"TA104 must be A, E or R, not {code!r}", None, "TA1")
            try:
                received = dt.datetime.strptime(element(segment, 2) + element(segment, 3), "%y%m%d%H%M")
            except ValueError:
                received = None
            found.append(InterchangeAcknowledgement(interchange.sender_id, control.strip(), received, code,
                                                    element(segment, 5)))
    if not found:
        raise X12Error("this file holds no TA1 interchange acknowledgement")
    return found


@dataclass(frozen=True)
class ElementError:  # IK4
    position: str
    reference: str
    code: str
    bad_value: str = ""

    def words(self) -> str:
        where = f"element {self.position}" + (f" (data element {self.reference})" if self.reference else "")
        bad = f": {self.bad_value!r}" if self.bad_value else ""
        return f"{where} {ack_codes.element_error(self.code)}{bad}"


@dataclass
class SegmentError:  # IK3 with its CTX and IK4s
    segment_id: str
    position: str  # in the transaction set, counting ST as 1
    loop: str
    code: str
    claim_number: str = ""  # CTX*CLM01:<number>: the claim the error sits in
    elements: list[ElementError] = field(default_factory=list)

    def words(self) -> str:
        text = f"{self.segment_id} segment {self.position}" + (f" in loop {self.loop}" if self.loop else "")
        text += f": {ack_codes.segment_error(self.code)}" if self.code else ""
        if self.elements:
            text += "; " + "; ".join(error.words() for error in self.elements)
        return text


@dataclass
class SetAcknowledgement:  # AK2 ... IK5
    set_id: str  # 837
    control_number: str  # the 837's ST02
    implementation: str
    code: str = ""  # IK501
    errors: list[str] = field(default_factory=list)  # IK502-IK506
    segment_errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.code in ack_codes.ACCEPTING

    def words(self, claim_number: str | None = None) -> str:
        """What the 999 says about this transaction set (and, given a claim number, the errors in it first)."""
        verdict = ack_codes.ack_code(self.code)
        text = f"Transaction set {self.control_number} {verdict}"
        if self.errors:
            text += ": " + "; ".join(ack_codes.set_error(code) for code in self.errors)
        errors = self.segment_errors
        if claim_number is not None:
            errors = sorted(errors, key=lambda error: error.claim_number != claim_number)
        if errors:
            text += ". " + ". ".join(error.words() + (f" (claim {error.claim_number})" if error.claim_number else "")
                                     for error in errors)
        return text


@dataclass
class GroupAcknowledgement:  # AK1 ... AK9
    functional_id: str  # HC for 837s
    control_number: str  # the 837's GS06
    version: str
    sets: list[SetAcknowledgement] = field(default_factory=list)
    code: str = ""  # AK901
    included: int = 0
    received: int = 0
    accepted_count: int = 0
    errors: list[str] = field(default_factory=list)  # AK905-AK909

    @property
    def accepted(self) -> bool:
        return self.code in ack_codes.ACCEPTING

    def words(self) -> str:
        text = (f"Group {self.control_number} {ack_codes.ack_code(self.code)}: {self.accepted_count} of "
                f"{self.received} transaction set(s) accepted")
        if self.errors:
            text += "; " + "; ".join(ack_codes.group_error(code) for code in self.errors)
        return text


@dataclass
class Acknowledgement999:
    control_number: str  # the 999's own ST02
    groups: list[GroupAcknowledgement] = field(default_factory=list)
    sender_id: str = ""  # who sent the 999 (ISA06)


def _count(value: str, what: str, index: int, segment_id: str) -> int:
    if not value.isdigit():
        raise X12Error(f"{what} should be a count, but it is {value!r}", index, segment_id)
    return int(value)


def _required(segment: Segment, position: int, what: str, index: int) -> str:
    value = element(segment, position)
    if not value:
        raise X12Error(f"{what} is missing", index, segment[0])
    return value


def _read_999(segments: list[Segment], first_index: int, delimiters: Delimiters) -> Acknowledgement999:
    ack = Acknowledgement999(control_number=element(segments[0], 2))
    group: GroupAcknowledgement | None = None
    current: SetAcknowledgement | None = None
    segment_error: SegmentError | None = None
    for offset, segment in enumerate(segments[1:-1], start=1):
        index, name = first_index + offset, segment[0]
        if name == "AK1":
            if group is not None:
                raise X12Error("a second AK1 in one 999 transaction set: each acknowledges one group", index, name)
            group = GroupAcknowledgement(_required(segment, 1, "AK101 (the functional group acknowledged)", index),
                                         _required(segment, 2, "AK102 (the group control number)", index),
                                         element(segment, 3))
            ack.groups.append(group)
            continue
        if group is None:
            raise X12Error(f"{name} comes before the AK1 that names the group acknowledged", index, name)
        if name == "AK2":
            current = SetAcknowledgement(_required(segment, 1, "AK201 (the transaction set acknowledged)", index),
                                         _required(segment, 2, "AK202 (its control number)", index),
                                         element(segment, 3))
            group.sets.append(current)
            segment_error = None
        elif name in ("IK3", "IK4", "CTX", "IK5") and current is None:
            raise X12Error(f"{name} comes before the AK2 that names the transaction set", index, name)
        elif name == "IK3":
            segment_error = SegmentError(_required(segment, 1, "IK301 (the segment in error)", index),
                                         element(segment, 2), element(segment, 3), element(segment, 4))
            current.segment_errors.append(segment_error)
        elif name == "IK4":
            if segment_error is None:
                raise X12Error("IK4 comes before the IK3 naming its segment", index, name)
            position = delimiters.components(element(segment, 1))
            segment_error.elements.append(ElementError(".".join(position), element(segment, 2),
                                                       _required(segment, 3, "IK403 (the element error)", index),
                                                       element(segment, 4)))
        elif name == "CTX":
            context = delimiters.components(element(segment, 1))
            if segment_error is not None and context[:1] == ["CLM01"] and len(context) > 1:
                segment_error.claim_number = context[1]
        elif name == "IK5":
            current.code = _required(segment, 1, "IK501 (accepted or rejected)", index)
            current.errors = [code for code in segment[2:7] if code]
            current, segment_error = None, None
        elif name == "AK9":
            group.code = _required(segment, 1, "AK901 (the group's acknowledgement code)", index)
            group.included = _count(element(segment, 2), "AK902", index, name)
            group.received = _count(element(segment, 3), "AK903", index, name)
            group.accepted_count = _count(element(segment, 4), "AK904", index, name)
            group.errors = [code for code in segment[5:10] if code]
            group = None
        else:
            raise X12Error(f"{name} is not a segment of a 999 acknowledgement", index, name)
    if not ack.groups:
        raise X12Error("the 999 acknowledges no functional group (no AK1)", first_index, "ST")
    for answered in ack.groups:
        if not answered.code:
            raise X12Error(f"the answer to group {answered.control_number} has no AK9 verdict", first_index, "ST")
        missing = [s.control_number for s in answered.sets if not s.code]
        if missing:
            raise X12Error(f"transaction set {missing[0]} of group {answered.control_number} has no IK5 verdict",
                           first_index, "ST")
    return ack


def parse_999(data: str | bytes) -> list[Acknowledgement999]:
    """Every 999 in an X12 file; raises X12Error for anything else or anything malformed."""
    found = []
    for interchange in parse_all(data, strict=False):
        for transaction_set in interchange.transactions:
            if transaction_set.id == "999":
                ack = _read_999(transaction_set.segments, transaction_set.start_index, interchange.delimiters)
                ack.sender_id = interchange.sender_id
                found.append(ack)
    if not found:
        raise X12Error("this file holds no 999 acknowledgement")
    return found


# ---------------------------------------------------------------- 277CA


@dataclass(frozen=True)
class Status:  # one STC composite
    category: str
    code: str
    entity: str = ""

    def words(self) -> str:
        return ack_codes.status_words(self.category, self.code, self.entity)

    @property
    def rejects(self) -> bool:
        return self.category in ack_codes.REJECTED_CATEGORIES


@dataclass
class LineStatus:  # loop 2220D
    procedure: str
    charge: Decimal
    statuses: list[Status]
    control_number: str = ""  # REF*FJ, the 837's REF*6R


@dataclass
class ClaimStatus:  # loop 2200D
    claim_number: str  # TRN02 = the 837's CLM01
    statuses: list[Status]
    action: str  # STC03: WQ accepted, U rejected
    charge: Decimal | None
    effective: dt.date | None
    message: str = ""  # STC12
    payer_claim_number: str = ""  # REF*1K
    clearinghouse_trace: str = ""  # REF*D9
    patient_last: str = ""
    patient_first: str = ""
    member_id: str = ""
    lines: list[LineStatus] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return self.action == "U" or any(status.rejects for status in self.statuses)

    def words(self) -> str:
        parts = [status.words() for status in self.statuses]
        parts += [f"line {line.procedure}: " + "; ".join(s.words() for s in line.statuses)
                  for line in self.lines if any(s.rejects for s in line.statuses)]
        if self.message:
            parts.append(self.message)
        return ". ".join(parts)


@dataclass
class ClaimAcknowledgement277:
    control_number: str
    payer_name: str = ""
    payer_id: str = ""
    trace: str = ""  # 2200A TRN02
    claims: list[ClaimStatus] = field(default_factory=list)


def _statuses(segment: Segment, delimiters: Delimiters, index: int) -> list[Status]:
    found = []
    for position in (1, 10, 11):
        parts = delimiters.components(element(segment, position))
        if not parts:
            continue
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise X12Error(f"STC{position:02d} must give a status category and a status code, like A2:20, "
                           f"not {element(segment, position)!r}", index, "STC")
        found.append(Status(parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    if not found:
        raise X12Error("STC01 (the claim status) is missing", index, "STC")
    return found


def _read_277(segments: list[Segment], first_index: int, delimiters: Delimiters) -> ClaimAcknowledgement277:
    ack = ClaimAcknowledgement277(control_number=element(segments[0], 2))
    level = ""  # the HL03 of the level being read: 20 source, 21 receiver, 19 provider, PT patient
    patient: tuple[str, str, str] = ("", "", "")
    claim: ClaimStatus | None = None
    line: LineStatus | None = None
    for offset, segment in enumerate(segments[1:-1], start=1):
        index, name = first_index + offset, segment[0]
        if name == "HL":
            level = _required(segment, 3, "HL03 (the level)", index)
            claim, line = None, None
        elif name == "NM1" and level == "20":
            ack.payer_name, ack.payer_id = element(segment, 3), element(segment, 9)
        elif name == "NM1" and level == "PT":
            patient = (element(segment, 3), element(segment, 4), element(segment, 9))
        elif name == "TRN" and level == "20":
            ack.trace = element(segment, 2)
        elif name == "TRN" and level == "PT":
            claim = ClaimStatus(_required(segment, 2, "TRN02 (the patient control number, CLM01)", index), [], "",
                                None, None, patient_last=patient[0], patient_first=patient[1], member_id=patient[2])
            ack.claims.append(claim)
            line = None
        elif name == "STC" and level == "PT":
            if claim is None:
                raise X12Error("a claim status (STC) comes before the TRN naming the claim", index, name)
            statuses = _statuses(segment, delimiters, index)
            if line is not None:
                line.statuses.extend(statuses)
                continue
            claim.statuses.extend(statuses)
            if element(segment, 2):
                claim.effective = read_date(element(segment, 2), "STC02 (the status date)", index, name)
            claim.action = claim.action or element(segment, 3)
            claim.charge = claim.charge if claim.charge is not None else read_decimal(
                element(segment, 4), "STC04 (the claim's charge)", index, name)
            claim.message = claim.message or element(segment, 12)
        elif name == "REF" and claim is not None and line is None:
            if element(segment, 1) == "1K":
                claim.payer_claim_number = element(segment, 2)
            elif element(segment, 1) == "D9":
                claim.clearinghouse_trace = element(segment, 2)
        elif name == "REF" and line is not None and element(segment, 1) == "FJ":
            line.control_number = element(segment, 2)
        elif name == "SVC":
            if claim is None:
                raise X12Error("a service line (SVC) comes before the TRN naming its claim", index, name)
            procedure = delimiters.components(element(segment, 1))
            charge = read_decimal(element(segment, 2), "SVC02 (the line's charge)", index, name)
            line = LineStatus(procedure[1] if len(procedure) > 1 else element(segment, 1), charge or Decimal("0"), [])
            claim.lines.append(line)
        elif name in ("BHT", "NM1", "TRN", "STC", "DTP", "QTY", "AMT", "REF"):
            continue  # the other levels' names, dates and totals: nothing to act on
        else:
            raise X12Error(f"{name} is not a segment of a 277CA claim acknowledgement", index, name)
    return ack


def parse_277ca(data: str | bytes) -> list[ClaimAcknowledgement277]:
    """Every 277CA in an X12 file; raises X12Error for anything else or anything malformed."""
    found = []
    for interchange in parse_all(data, strict=False):
        for transaction_set in interchange.transactions:
            if transaction_set.id != "277":
                continue
            if transaction_set.implementation and not transaction_set.implementation.startswith("005010X214"):
                raise X12Error(f"this 277 follows {transaction_set.implementation}, not the claim acknowledgement "
                               "guide 005010X214 (a 277 answering a status inquiry is not read here)",
                               transaction_set.start_index, "ST")
            found.append(_read_277(transaction_set.segments, transaction_set.start_index, interchange.delimiters))
    if not found:
        raise X12Error("this file holds no 277CA claim acknowledgement")
    return found
