"""Reading an 835 health care claim payment/advice (005010X221A1) into plain records.

`parse_835` gives one `Remittance` per ST/SE: the payment (BPR) and its trace number (TRN), the
payer and payee, each claim payment (CLP) with its adjustments (CAS, by group and CARC), remark
codes (MIA/MOA/LQ) and service lines (SVC), and the provider-level adjustments (PLB). It refuses a
file whose payment total does not equal the claims' payments less the provider adjustments, saying
by how much, because posting such a file would leave money unaccounted for.

Everything wrong raises `X12Error` naming the segment; problems that do not change an amount (an
unknown segment, a composite written with the wrong separator) become `warnings`.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from .envelope import Delimiters, Segment, X12Error, element, parse_all
from .values import read_date, read_decimal

ZERO = Decimal("0.00")
ADJUSTMENT_GROUPS = {
    "CO": "contractual obligation",
    "PR": "patient responsibility",
    "OA": "other adjustment",
    "PI": "payer-initiated reduction",
    "CR": "correction and reversal",
}
CLAIM_STATUSES = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to another payer",
    "20": "processed as secondary, forwarded to another payer",
    "21": "processed as tertiary, forwarded to another payer",
    "22": "reversal of a previous payment",
    "23": "not our claim, forwarded to another payer",
    "25": "predetermination only, no payment",
}
REVERSAL = "22"
DENIED = "4"
PROCEDURE_QUALIFIERS = {"HC", "AD", "ER", "HP", "IV", "N4", "NU", "WK", "ZZ", "N6", "RB", "UI", "HP"}
_LATE_COMPONENT = ">"  # some payers write composites with ">" whatever ISA16 says


@dataclass(frozen=True)
class Adjustment:
    group: str  # CO, PR, OA, PI, CR
    reason: str  # the claim adjustment reason code (CARC)
    amount: Decimal
    quantity: Decimal | None = None


@dataclass
class ServiceLine:
    procedure: str
    charge: Decimal
    paid: Decimal
    qualifier: str = "HC"
    modifiers: list[str] = field(default_factory=list)
    revenue_code: str = ""
    units: Decimal | None = None
    submitted_procedure: str = ""  # SVC06: the code billed, when the payer paid another
    control_number: str = ""  # REF*6R, the line item control number sent in the 837
    service_start: dt.date | None = None
    service_end: dt.date | None = None
    allowed: Decimal | None = None  # AMT*B6
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # LQ*HE remittance advice remark codes

    @property
    def adjusted(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)


@dataclass
class ClaimPayment:
    claim_number: str  # CLP01, our CLM01
    status: str  # CLP02
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None = None  # CLP05 as the payer states it
    filing_indicator: str = ""  # CLP06: 12 PPO, MB Medicare B, ...
    payer_claim_number: str = ""  # CLP07
    facility_code: str = ""  # CLP08
    frequency: str = ""  # CLP09
    patient_last: str = ""
    patient_first: str = ""
    patient_member_id: str = ""
    service_start: dt.date | None = None
    service_end: dt.date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)  # claim-level CAS
    remarks: list[str] = field(default_factory=list)  # MIA/MOA remark codes
    lines: list[ServiceLine] = field(default_factory=list)

    @property
    def is_reversal(self) -> bool:
        return self.status == REVERSAL

    @property
    def status_text(self) -> str:
        return CLAIM_STATUSES.get(self.status, f"status {self.status}")

    def all_adjustments(self) -> list[Adjustment]:
        return self.adjustments + [a for line in self.lines for a in line.adjustments]


@dataclass(frozen=True)
class ProviderAdjustment:
    provider_id: str  # PLB01
    fiscal_date: dt.date | None  # PLB02
    reason: str  # WO overpayment recovery, FB forwarding balance, L6 interest, 72 authorized return, ...
    reference: str  # the claim or document the adjustment refers to, when the payer says
    amount: Decimal  # positive: taken from this payment; negative: added to it


@dataclass
class Remittance:
    control_number: str  # ST02
    handling: str  # BPR01: C payment with advice, I advice only, H notification, ...
    total: Decimal  # BPR02, negative when BPR03 is D (the payer takes money back)
    method: str  # BPR04: ACH, CHK, BOP, FWT, NON
    paid_on: dt.date | None  # BPR16
    trace_number: str  # TRN02: the check or EFT number
    payer_trace_id: str  # TRN03: "1" + the payer's tax id, usually
    payer_name: str = ""
    payer_id: str = ""  # N1*PR REF*2U, or the TRN03 when the payer gives none
    payee_name: str = ""
    payee_id_qualifier: str = ""  # XX NPI, FI tax id
    payee_id: str = ""
    produced_on: dt.date | None = None  # DTM*405
    claims: list[ClaimPayment] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list, compare=False)

    @property
    def claims_paid(self) -> Decimal:
        return sum((claim.paid for claim in self.claims), ZERO)

    @property
    def provider_adjusted(self) -> Decimal:
        return sum((adjustment.amount for adjustment in self.provider_adjustments), ZERO)


class _Body:
    """The segments of one 835 with their positions in the file, read front to back."""

    def __init__(self, segments: list[Segment], first_index: int, delimiters: Delimiters, warnings: list[str]):
        self.segments = segments
        self.first_index = first_index
        self.delimiters = delimiters
        self.position = 0
        self.warnings = warnings
        # An 835 repeats a few amounts and dates thousands of times; each distinct text is read once.
        self.amounts: dict[str, Decimal] = {}
        self.dates: dict[str, dt.date] = {}

    def peek(self) -> str | None:
        return self.segments[self.position][0] if self.position < len(self.segments) else None

    def take(self) -> Segment:
        segment = self.segments[self.position]
        self.position += 1
        return segment

    @property
    def index(self) -> int:  # 1-based file position of the segment last taken
        return self.first_index + self.position - 1

    def error(self, message: str, segment_id: str) -> X12Error:
        return X12Error(message, self.index, segment_id)

    def amount(self, segment: Segment, position: int, what: str, *, required: bool = True) -> Decimal | None:
        text = segment[position] if position < len(segment) else ""
        value = self.amounts.get(text)
        if value is None:
            value = read_decimal(text, what, self.index, segment[0])
            if value is None:
                if required:
                    raise self.error(f"{what} is missing", segment[0])
                return None
            self.amounts[text] = value
        return value

    def date(self, segment: Segment, position: int, what: str) -> dt.date:
        text = segment[position] if position < len(segment) else ""
        day = self.dates.get(text)
        if day is None:
            day = self.dates[text] = read_date(text, what, self.index, segment[0])
        return day

    def soft_date(self, segment: Segment, position: int, what: str) -> dt.date | None:
        """A date that changes no amount: a bad one is a warning, not a refusal."""
        if not element(segment, position):
            return None
        try:
            return self.date(segment, position, what)
        except X12Error as error:
            self.warnings.append(f"{error}; read as not given")
            return None

    def components(self, value: str) -> list[str]:
        parts = self.delimiters.components(value)
        if len(parts) == 1 and _LATE_COMPONENT in value and value[:2] in PROCEDURE_QUALIFIERS:
            self.warnings.append(f"segment {self.index}: the composite {value!r} is written with '>' instead of "
                                 f"{self.delimiters.component!r} (ISA16); read it as written")
            parts = value.split(_LATE_COMPONENT)
        return parts


def _adjustments(body: _Body, segment: Segment) -> list[Adjustment]:
    group = element(segment, 1)
    if group not in ADJUSTMENT_GROUPS:
        raise body.error(f"CAS01 {group!r} is not an adjustment group (CO, PR, OA, PI or CR)", "CAS")
    found = []
    for start in range(2, min(len(segment), 20), 3):  # up to six reason/amount/quantity triples
        reason = segment[start]
        if not reason:
            if element(segment, start + 1):
                raise body.error(f"CAS has an amount at position {start + 1} without a reason code", "CAS")
            continue
        amount = body.amount(segment, start + 1, f"the amount of adjustment {group}-{reason}")
        quantity = body.amount(segment, start + 2, f"the quantity of adjustment {group}-{reason}", required=False)
        found.append(Adjustment(group, reason, amount, quantity))
    if not found:
        raise body.error("CAS names no adjustment reason", "CAS")
    return found


def _service_line(body: _Body, segment: Segment) -> ServiceLine:
    procedure = body.components(element(segment, 1))
    if len(procedure) < 2 or not procedure[1]:
        raise body.error(f"SVC01 {element(segment, 1)!r} should be a qualifier and a procedure code, like HC:99213",
                         "SVC")
    submitted = body.components(element(segment, 6))
    line = ServiceLine(
        qualifier=procedure[0], procedure=procedure[1], modifiers=[m for m in procedure[2:6] if m],
        charge=body.amount(segment, 2, "the line charge (SVC02)"),
        paid=body.amount(segment, 3, "the line payment (SVC03)"),
        revenue_code=element(segment, 4),
        units=body.amount(segment, 5, "the units paid (SVC05)", required=False),
        submitted_procedure=":".join(submitted[1:2] + [m for m in submitted[2:6] if m]) if submitted else "",
    )
    while (segment_id := body.peek()) in ("DTM", "CAS", "REF", "AMT", "QTY", "LQ"):
        segment = body.take()
        if segment_id == "DTM":
            qualifier = element(segment, 1)
            if qualifier in ("472", "150"):
                line.service_start = body.date(segment, 2, f"the service date (DTM*{qualifier})")
                if qualifier == "472":
                    line.service_end = line.service_start
            elif qualifier == "151":
                line.service_end = body.date(segment, 2, "the service end date (DTM*151)")
        elif segment_id == "CAS":
            line.adjustments += _adjustments(body, segment)
        elif segment_id == "REF" and element(segment, 1) == "6R":
            line.control_number = element(segment, 2)
        elif segment_id == "AMT" and element(segment, 1) == "B6":
            line.allowed = body.amount(segment, 2, "the allowed amount (AMT*B6)")
        elif segment_id == "LQ" and element(segment, 1) == "HE" and element(segment, 2):
            line.remarks.append(element(segment, 2))
    return line


def _claim(body: _Body, segment: Segment) -> ClaimPayment:
    if not element(segment, 1):
        raise body.error("CLP01 (our claim number) is missing", "CLP")
    status = element(segment, 2)
    if status not in CLAIM_STATUSES:
        raise body.error(f"CLP02 {status!r} is not a claim status code (1, 2, 3, 4, 19-23, 25)", "CLP")
    claim = ClaimPayment(
        claim_number=element(segment, 1), status=status,
        charge=body.amount(segment, 3, f"the charge of claim {element(segment, 1)} (CLP03)"),
        paid=body.amount(segment, 4, f"the payment of claim {element(segment, 1)} (CLP04)"),
        patient_responsibility=body.amount(segment, 5, "CLP05", required=False),
        filing_indicator=element(segment, 6), payer_claim_number=element(segment, 7),
        facility_code=element(segment, 8), frequency=element(segment, 9),
    )
    while (segment_id := body.peek()) in ("CAS", "NM1", "MIA", "MOA", "REF", "DTM", "PER", "AMT", "QTY"):
        segment = body.take()
        if segment_id == "CAS":
            claim.adjustments += _adjustments(body, segment)
        elif segment_id == "NM1" and element(segment, 1) == "QC":
            claim.patient_last, claim.patient_first = element(segment, 3), element(segment, 4)
            claim.patient_member_id = element(segment, 9)
        elif segment_id == "MIA":
            claim.remarks += [code for code in (element(segment, p) for p in (5, 20, 21, 22, 23)) if code]
        elif segment_id == "MOA":
            claim.remarks += [code for code in (element(segment, p) for p in (3, 4, 5, 6, 7)) if code]
        elif segment_id == "DTM" and element(segment, 1) in ("232", "233"):
            day = body.date(segment, 2, f"the claim date (DTM*{element(segment, 1)})")
            if element(segment, 1) == "232":
                claim.service_start = day
            else:
                claim.service_end = day
    while body.peek() == "SVC":
        claim.lines.append(_service_line(body, body.take()))
    return claim


def _provider_adjustments(body: _Body, segment: Segment) -> list[ProviderAdjustment]:
    fiscal = element(segment, 2)
    fiscal_date = body.date(segment, 2, "the fiscal period date (PLB02)") if fiscal else None
    found = []
    for start in range(3, 15, 2):
        composite = element(segment, start)
        if not composite:
            continue
        parts = body.components(composite)
        amount = body.amount(segment, start + 1, f"the amount of provider adjustment {parts[0]} (PLB{start + 1:02d})")
        found.append(ProviderAdjustment(element(segment, 1), fiscal_date, parts[0],
                                        parts[1] if len(parts) > 1 else "", amount))
    if not element(segment, 1) or not found:
        raise body.error("PLB needs the provider id and at least one reason and amount", "PLB")
    return found


def _party(body: _Body, remittance: Remittance, segment: Segment) -> None:
    role = element(segment, 1)
    if role == "PR":
        remittance.payer_name = element(segment, 2)
    elif role == "PE":
        remittance.payee_name = element(segment, 2)
        remittance.payee_id_qualifier, remittance.payee_id = element(segment, 3), element(segment, 4)
    while (segment_id := body.peek()) in ("N2", "N3", "N4", "REF", "PER", "RDM"):
        segment = body.take()
        if segment_id == "REF" and role == "PR" and element(segment, 1) == "2U":
            remittance.payer_id = element(segment, 2)


def _remittance(segments: list[Segment], first_index: int, delimiters: Delimiters) -> Remittance:
    warnings: list[str] = []
    body = _Body(segments[1:-1], first_index + 1, delimiters, warnings)
    if body.peek() != "BPR":
        raise X12Error("an 835 must start with the payment (BPR) segment", first_index + 1, body.peek())
    bpr = body.take()
    total = body.amount(bpr, 2, "the payment total (BPR02)")
    if element(bpr, 3) not in ("C", "D"):
        raise body.error(f"BPR03 must be C (credit) or D (debit), not {element(bpr, 3)!r}", "BPR")
    if element(bpr, 3) == "D":
        total = -total
    paid_on = body.soft_date(bpr, 16, "the payment date (BPR16)")
    if body.peek() != "TRN":
        raise X12Error("the 835 has no trace number (TRN) after the BPR", body.index + 1, body.peek())
    trn = body.take()
    if not element(trn, 2):
        raise body.error("TRN02 (the check or EFT trace number) is missing", "TRN")
    remittance = Remittance(
        control_number=element(segments[0], 2), handling=element(bpr, 1), total=total, method=element(bpr, 4),
        paid_on=paid_on, trace_number=element(trn, 2), payer_trace_id=element(trn, 3), warnings=warnings,
    )
    while (segment_id := body.peek()) is not None:
        segment = body.take()
        if segment_id == "DTM" and element(segment, 1) == "405":
            remittance.produced_on = body.soft_date(segment, 2, "the production date (DTM*405)")
        elif segment_id == "N1":
            _party(body, remittance, segment)
        elif segment_id == "CLP":
            remittance.claims.append(_claim(body, segment))
        elif segment_id == "PLB":
            remittance.provider_adjustments += _provider_adjustments(body, segment)
        elif segment_id == "SVC":
            raise body.error("a service line (SVC) comes before any claim (CLP)", "SVC")
        elif segment_id not in ("CUR", "REF", "DTM", "LX", "TS3", "TS2", "RDM", "PER", "N3", "N4"):
            warnings.append(f"segment {body.index}: {segment_id} is not read in an 835 and was skipped")
    remittance.payer_id = remittance.payer_id or remittance.payer_trace_id
    _check_balance(remittance)
    return remittance


def _check_balance(remittance: Remittance) -> None:
    expected = remittance.claims_paid - remittance.provider_adjusted
    if expected != remittance.total:
        raise X12Error(
            f"the remittance with trace number {remittance.trace_number} does not balance: the payment total "
            f"(BPR02) is {remittance.total:.2f} but its claims pay {remittance.claims_paid:.2f} less "
            f"{remittance.provider_adjusted:.2f} of provider adjustments = {expected:.2f}, "
            f"{abs(remittance.total - expected):.2f} apart; nothing from it was posted"
        )


def parse_835(data: str | bytes, *, strict: bool = False) -> list[Remittance]:
    """Every 835 transaction set in an X12 file, in order, checked for balance.

    Trailer control numbers that do not echo their headers are tolerated (strict=False) and
    reported as warnings: payers get them wrong and they change no amount.
    """
    interchanges = parse_all(data, strict=strict)
    remittances = []
    for interchange in interchanges:
        envelope_warnings = [str(warning) for warning in interchange.warnings]
        for transaction_set in interchange.transactions:
            if transaction_set.id != "835":
                continue
            remittance = _remittance(transaction_set.segments, transaction_set.start_index, interchange.delimiters)
            remittance.warnings[:0] = envelope_warnings
            remittances.append(remittance)
    if not remittances:
        kinds = sorted({tx.id for interchange in interchanges for tx in interchange.transactions})
        raise X12Error(f"this file holds no 835 remittance (it holds {', '.join(kinds) or 'no transaction sets'})")
    return remittances
