"""The X12 837P professional claim (005010X222A1), written from plain data.

`ClaimData` holds one claim as the transaction needs it (parties, diagnoses, lines, the other
payer for coordination of benefits); `claims_body` turns a batch of them into the segments
between ST and SE, and `write_837` wraps those in an interchange with the billing app's one X12
`Writer`. Nothing here reads the database: `build` turns FHIR Claims into `ClaimData`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from mederi.billing.x12.envelope import Segment, Writer
from mederi.billing.x12.values import write_decimal, x12_date

IMPLEMENTATION = "005010X222A1"
MAX_CLAIMS_PER_TRANSACTION = 5000  # the guide's recommended limit of CLM segments in one ST/SE


@dataclass
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass
class Provider:
    name: str  # the organization's name, or the person's last name
    npi: str
    first_name: str = ""  # set for a person
    taxonomy: str = ""
    tax_id: str = ""  # EIN, nine digits
    address: Address | None = None

    @property
    def is_person(self) -> bool:
        return bool(self.first_name)


@dataclass
class Person:
    last_name: str
    first_name: str
    birth_date: dt.date | None = None
    gender: str = "U"  # F, M or U
    address: Address | None = None
    member_id: str = ""


@dataclass
class Adjustment:
    group: str  # CO, PR, OA, PI
    reason: str  # CARC
    amount: Decimal


@dataclass
class LinePayment:
    """What the other payer paid on one line (loop 2430)."""

    paid: Decimal
    adjudicated: dt.date
    adjustments: list[Adjustment] = field(default_factory=list)


@dataclass
class OtherPayer:
    """The payer that adjudicated before this one (loops 2320, 2330A, 2330B, 2430)."""

    payer_name: str
    payer_id: str
    subscriber: Person
    responsibility: str = "P"  # the other payer's rank: P primary, S secondary
    relationship: str = "18"  # the patient's relationship to the other subscriber (18 = self)
    group_number: str = ""
    filing_code: str = "CI"
    paid: Decimal = Decimal("0")
    adjudicated: dt.date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    line_payments: dict[int, LinePayment] = field(default_factory=dict)  # by line sequence


@dataclass
class ServiceLine:
    code: str
    charge: Decimal
    service_date: dt.date
    units: Decimal = Decimal("1")
    modifiers: list[str] = field(default_factory=list)
    pointers: list[int] = field(default_factory=lambda: [1])  # 1-based positions in ClaimData.diagnoses
    place_of_service: str = ""  # only when it differs from the claim's
    control_number: str = ""  # REF*6R
    prior_authorization: str = ""
    ndc: str = ""  # 11 digits, for a drug line
    ndc_quantity: Decimal | None = None
    ndc_unit: str = "UN"  # UN, ML, GR, F2, ME
    code_system: str = "HC"


@dataclass
class Accident:
    cause: str  # AA auto, EM employment, OA other
    date: dt.date
    state: str = ""  # required for AA


@dataclass
class ClaimData:
    claim_number: str  # CLM01
    billing: Provider
    payer_name: str
    payer_id: str
    subscriber: Person
    diagnoses: list[str]  # ICD-10-CM codes, the principal first (dots allowed)
    lines: list[ServiceLine]
    place_of_service: str = "11"
    frequency: str = "1"  # 1 original, 7 replacement, 8 void
    responsibility: str = "P"  # this payer's rank
    filing_code: str = "CI"  # SBR09: CI commercial, MB Medicare Part B, MC Medicaid, BL, HM, ...
    group_number: str = ""
    patient: Person | None = None  # None when the patient is the subscriber
    relationship: str = "18"  # PAT01 when the patient is not the subscriber: 01 spouse, 19 child, G8 other
    rendering: Provider | None = None
    referring: Provider | None = None
    facility: Provider | None = None  # service facility location, when not the billing provider's address
    prior_authorization: str = ""
    original_reference: str = ""  # the payer's claim control number of the claim corrected or voided
    accident: Accident | None = None
    onset: dt.date | None = None
    other_payer: OtherPayer | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0"))


@dataclass
class Submitter:
    name: str
    id: str
    contact_name: str
    phone: str


def _money(value: Decimal) -> str:
    return write_decimal(value.quantize(Decimal("0.01")), "amount")


def _number(value: Decimal) -> str:
    return write_decimal(value.normalize() if value == value.to_integral() else value, "quantity")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _address(address: Address | None) -> list[Segment]:
    if address is None:
        return []
    return [["N3", address.line1, address.line2], ["N4", address.city, address.state, _digits(address.postal_code)]]


def _provider_name(code: str, provider: Provider) -> Segment:
    if provider.is_person:
        return ["NM1", code, "1", provider.name, provider.first_name, "", "", "", "XX", provider.npi]
    return ["NM1", code, "2", provider.name, "", "", "", "", "XX", provider.npi]


def _person_name(code: str, person: Person, id_qualifier: str = "", id_value: str = "") -> Segment:
    return ["NM1", code, "1", person.last_name, person.first_name, "", "", "", id_qualifier, id_value]


def _demographics(person: Person) -> list[Segment]:
    if person.birth_date is None:
        return []
    return [["DMG", "D8", x12_date(person.birth_date), person.gender or "U"]]


def _billing_loop(hl: int, provider: Provider) -> list[Segment]:
    segments = [["HL", str(hl), "", "20", "1"]]
    if provider.taxonomy:
        segments.append(["PRV", "BI", "PXC", provider.taxonomy])
    segments.append(_provider_name("85", provider))
    segments += _address(provider.address)
    segments.append(["REF", "EI", _digits(provider.tax_id)])
    return segments


def _subscriber_loop(hl: int, parent: int, claim: ClaimData) -> list[Segment]:
    dependent = claim.patient is not None
    segments = [
        ["HL", str(hl), str(parent), "22", "1" if dependent else "0"],
        ["SBR", claim.responsibility, "" if dependent else "18", claim.group_number, "", "", "", "", "",
         claim.filing_code],
        _person_name("IL", claim.subscriber, "MI", claim.subscriber.member_id),
    ]
    segments += _address(claim.subscriber.address)
    if not dependent:
        segments += _demographics(claim.subscriber)
    segments.append(["NM1", "PR", "2", claim.payer_name, "", "", "", "", "PI", claim.payer_id])
    if dependent:
        segments += [["HL", str(hl + 1), str(hl), "23", "0"], ["PAT", claim.relationship],
                     _person_name("QC", claim.patient)]
        segments += _address(claim.patient.address)
        segments += _demographics(claim.patient)
    return segments


def _claim_segments(claim: ClaimData) -> list[Segment]:
    related = ""
    if claim.accident:
        related = f"{claim.accident.cause}:::{claim.accident.state}" if claim.accident.state else claim.accident.cause
    segments = [["CLM", claim.claim_number, _money(claim.total), "", "",
                 f"{claim.place_of_service}:B:{claim.frequency}", "Y", "A", "Y", "Y", "", related]]
    if claim.onset:
        segments.append(["DTP", "431", "D8", x12_date(claim.onset)])
    if claim.accident:
        segments.append(["DTP", "439", "D8", x12_date(claim.accident.date)])
    if claim.original_reference and claim.frequency in ("7", "8"):
        segments.append(["REF", "F8", claim.original_reference])
    if claim.prior_authorization:
        segments.append(["REF", "G1", claim.prior_authorization])
    codes = [code.replace(".", "") for code in claim.diagnoses]
    segments.append(["HI", *(f"{'ABK' if i == 0 else 'ABF'}:{code}" for i, code in enumerate(codes))])
    if claim.referring:
        segments.append(_provider_name("DN", claim.referring))
    if claim.rendering:
        segments.append(_provider_name("82", claim.rendering))
        if claim.rendering.taxonomy:
            segments.append(["PRV", "PE", "PXC", claim.rendering.taxonomy])
    if claim.facility:
        segments.append(_provider_name("77", claim.facility))
        segments += _address(claim.facility.address)
    if claim.other_payer:
        segments += _other_payer(claim.other_payer)
    for sequence, line in enumerate(claim.lines, start=1):
        segments += _line(sequence, line, claim.other_payer)
    return segments


def _adjustments(adjustments: list[Adjustment]) -> list[Segment]:
    by_group: dict[str, list[str]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group, []).extend([adjustment.reason, _money(adjustment.amount), ""])
    return [["CAS", group, *values[:18]] for group, values in by_group.items()]


def _other_payer(other: OtherPayer) -> list[Segment]:
    segments = [["SBR", other.responsibility, other.relationship, other.group_number, "", "", "", "", "",
                 other.filing_code]]
    segments += _adjustments(other.adjustments)
    segments.append(["AMT", "D", _money(other.paid)])
    segments.append(["OI", "", "", "Y", "", "", "Y"])
    segments.append(_person_name("IL", other.subscriber, "MI", other.subscriber.member_id))
    segments += _address(other.subscriber.address)
    segments.append(["NM1", "PR", "2", other.payer_name, "", "", "", "", "PI", other.payer_id])
    return segments


def _line(sequence: int, line: ServiceLine, other: OtherPayer | None) -> list[Segment]:
    procedure = ":".join([line.code_system, line.code, *line.modifiers])
    segments = [
        ["LX", str(sequence)],
        ["SV1", procedure, _money(line.charge), "UN", _number(line.units), line.place_of_service, "",
         ":".join(str(p) for p in line.pointers[:4])],
        ["DTP", "472", "D8", x12_date(line.service_date)],
    ]
    if line.prior_authorization:
        segments.append(["REF", "G1", line.prior_authorization])
    if line.control_number:
        segments.append(["REF", "6R", line.control_number])
    if line.ndc:
        segments.append(["LIN", "", "N4", _digits(line.ndc)])
        segments.append(["CTP", "", "", "", _number(line.ndc_quantity or line.units), line.ndc_unit])
    payment = other.line_payments.get(sequence) if other else None
    if payment is not None:
        segments.append(["SVD", other.payer_id, _money(payment.paid), procedure, "", _number(line.units)])
        segments += _adjustments(payment.adjustments)
        segments.append(["DTP", "573", "D8", x12_date(payment.adjudicated)])
    return segments


def claims_body(claims: list[ClaimData], submitter: Submitter, receiver_name: str, receiver_id: str,
                reference: str, when: dt.datetime) -> list[Segment]:
    """The segments of one 837P transaction set (without ST and SE) for claims bound to one receiver."""
    body = [
        ["BHT", "0019", "00", reference, when.strftime("%Y%m%d"), when.strftime("%H%M"), "CH"],
        ["NM1", "41", "2", submitter.name, "", "", "", "", "46", submitter.id],
        ["PER", "IC", submitter.contact_name, "TE", _digits(submitter.phone)],
        ["NM1", "40", "2", receiver_name, "", "", "", "", "46", receiver_id],
    ]
    hl = 0
    by_billing: dict[tuple, list[ClaimData]] = {}
    for claim in claims:
        by_billing.setdefault((claim.billing.npi, claim.billing.tax_id, claim.billing.name), []).append(claim)
    for group in by_billing.values():
        hl += 1
        billing_hl = hl
        body += _billing_loop(billing_hl, group[0].billing)
        for claim in group:
            hl += 1
            body += _subscriber_loop(hl, billing_hl, claim)
            if claim.patient is not None:
                hl += 1
            body += _claim_segments(claim)
    return body


def write_837(claims: list[ClaimData], *, submitter: Submitter, receiver_name: str, receiver_id: str,
              sender_id: str, interchange_receiver_id: str, control_number: int, when: dt.datetime,
              usage: str = "T") -> str:
    """A complete 837P interchange; claims are split into transaction sets of at most 5,000."""
    writer = Writer(sender_id=sender_id, receiver_id=interchange_receiver_id, control_number=control_number,
                    when=when, usage=usage, group_control_number=control_number)
    for start in range(0, len(claims), MAX_CLAIMS_PER_TRANSACTION):
        chunk = claims[start:start + MAX_CLAIMS_PER_TRANSACTION]
        reference = f"{control_number}{start // MAX_CLAIMS_PER_TRANSACTION + 1:04d}"
        writer.add("837", claims_body(chunk, submitter, receiver_name, receiver_id, reference, when),
                   implementation=IMPLEMENTATION)
    return writer.text()
