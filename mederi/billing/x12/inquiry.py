"""The 270 eligibility inquiry (005010X279A1): build one from an `EligibilityInquiry`, and read one back.

The loops follow the guide: 2000A information source (HL 20, NM1*PR), 2000B information receiver
(HL 21, NM1*1P with the NPI), 2000C subscriber (HL 22: TRN, NM1*IL with the member ID, DMG,
DTP*291, one EQ per service type) and, when the patient is not the subscriber, 2000D dependent
(HL 23), which then carries the TRN, DTP and EQ segments.
"""

import datetime as dt
from dataclasses import dataclass, field

from mederi.core.npi import npi_is_valid

from . import codes
from .envelope import Segment, Writer, X12Error, element, parse_all
from .values import read_date, read_period, x12_date

IMPLEMENTATION = "005010X279A1"


@dataclass
class Dependent:
    """The patient when the patient is not the subscriber (a child, a spouse...)."""

    first_name: str
    last_name: str
    date_of_birth: dt.date | None = None
    gender: str = ""  # M, F or U; "" when not known
    relationship: str = "19"  # INS02: 01 spouse, 19 child, 34 other adult


@dataclass
class EligibilityInquiry:
    """What a front desk asks a payer: is this member covered, and for what."""

    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    subscriber_first_name: str
    subscriber_last_name: str
    member_id: str
    date_of_birth: dt.date | None = None  # the subscriber's
    gender: str = ""  # the subscriber's: M, F or U; "" when not known
    dependent: Dependent | None = None
    service_types: list[str] = field(default_factory=lambda: ["30"])
    service_date: dt.date | None = None  # None: the payer answers for today
    trace_number: str = ""  # TRN02, echoed by the payer; "" uses the control number
    trace_originator: str = ""  # TRN03: "1" + EIN, or "9" + an id of the submitter's; "" derives one
    submitter_id: str = ""  # ISA06/GS02
    receiver_id: str = ""  # ISA08/GS03
    control_number: int = 1  # ISA13
    usage: str = "T"  # ISA15: T test, P production
    submitter_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    provider_id_qualifier: str = "XX"  # XX is the NPI
    provider_is_person: bool = False
    reference_id: str = ""  # BHT03; "" uses the trace number
    created: dt.datetime | None = None  # envelope date and time; None is now

    @property
    def patient_is_subscriber(self) -> bool:
        return self.dependent is None


def _problems(inquiry: EligibilityInquiry) -> list[str]:
    problems = []
    required = {
        "payer name": inquiry.payer_name,
        "payer ID": inquiry.payer_id,
        "provider name": inquiry.provider_name,
        "provider NPI": inquiry.provider_npi,
        "subscriber's last name": inquiry.subscriber_last_name,
        "member ID": inquiry.member_id,
        "submitter ID": inquiry.submitter_id,
        "receiver ID": inquiry.receiver_id,
    }
    problems += [f"the {what} is missing" for what, value in required.items() if not str(value or "").strip()]
    if inquiry.provider_id_qualifier == "XX" and inquiry.provider_npi.strip():
        if not npi_is_valid(inquiry.provider_npi.strip()):
            problems.append(f"the provider NPI {inquiry.provider_npi!r} is not a valid NPI (10 digits, check digit)")
    genders = [("subscriber", inquiry.gender)] + ([("patient", inquiry.dependent.gender)] if inquiry.dependent else [])
    for who, gender in genders:
        if gender not in ("", *codes.GENDERS):
            problems.append(f"the {who}'s gender must be M, F or U, not {gender!r}")
    if not inquiry.service_types:
        problems.append("ask for at least one service type (30 is general health benefit coverage)")
    problems += [
        f"{code!r} is not an X12 service type code" for code in inquiry.service_types if code not in codes.SERVICE_TYPES
    ]
    if inquiry.dependent:
        if not inquiry.dependent.last_name.strip():
            problems.append("the patient's last name is missing")
        if inquiry.dependent.relationship not in codes.RELATIONSHIPS:
            problems.append(f"{inquiry.dependent.relationship!r} is not a relationship code (01, 19, 34 ...)")
    return problems


def _demographics(date_of_birth: dt.date | None, gender: str) -> list[Segment]:
    return [["DMG", "D8", x12_date(date_of_birth), gender]] if date_of_birth else []


def _trace_originator(inquiry: EligibilityInquiry) -> str:
    if inquiry.trace_originator:
        return inquiry.trace_originator
    own = "".join(char for char in inquiry.submitter_id if char.isalnum())[:9]
    return "9" + own.rjust(9, "0")


def inquiry_segments(inquiry: EligibilityInquiry, when: dt.datetime) -> list[Segment]:
    """The 270 body (between ST and SE) for one inquiry."""
    problems = _problems(inquiry)
    if problems:
        raise X12Error("the eligibility inquiry can't be sent: " + "; ".join(problems))
    trace = inquiry.trace_number or str(inquiry.control_number)
    dependent = inquiry.dependent
    patient_loop = [["TRN", "1", trace, _trace_originator(inquiry)]]
    asked = ([["DTP", "291", "D8", x12_date(inquiry.service_date)]] if inquiry.service_date else []) + [
        ["EQ", code] for code in inquiry.service_types
    ]
    body = [
        ["BHT", "0022", "13", inquiry.reference_id or trace, when.strftime("%Y%m%d"), when.strftime("%H%M")],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", inquiry.payer_name.strip(), "", "", "", "", "PI", inquiry.payer_id.strip()],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "1P", "1" if inquiry.provider_is_person else "2", inquiry.provider_name.strip(), "", "", "", "",
         inquiry.provider_id_qualifier, inquiry.provider_npi.strip()],
        ["HL", "3", "2", "22", "1" if dependent else "0"],
        *([] if dependent else patient_loop),
        ["NM1", "IL", "1", inquiry.subscriber_last_name.strip(), inquiry.subscriber_first_name.strip(), "", "", "",
         "MI", inquiry.member_id.strip()],
        *_demographics(inquiry.date_of_birth, inquiry.gender),
    ]  # fmt: skip
    if not dependent:
        return body + asked
    return body + [
        ["HL", "4", "3", "23", "0"],
        *patient_loop,
        ["NM1", "03", "1", dependent.last_name.strip(), dependent.first_name.strip()],
        *_demographics(dependent.date_of_birth, dependent.gender),
        ["INS", "N", dependent.relationship],
        *asked,
    ]


def build_270(inquiry: EligibilityInquiry) -> str:
    """A complete 270 interchange for one inquiry, ready to send to a clearinghouse."""
    when = inquiry.created or dt.datetime.now()
    writer = Writer(
        sender_id=inquiry.submitter_id or "?",
        receiver_id=inquiry.receiver_id or "?",
        sender_qualifier=inquiry.submitter_qualifier,
        receiver_qualifier=inquiry.receiver_qualifier,
        control_number=inquiry.control_number,
        when=when,
        usage=inquiry.usage,
    )
    writer.add("270", inquiry_segments(inquiry, when), implementation=IMPLEMENTATION)
    return writer.text()


def transactions_of_kind(text: str | bytes, kind: str, *, strict: bool):
    """(interchange, transaction set) pairs of one kind; raises when the file holds another kind."""
    found = []
    for interchange in parse_all(text, strict=strict):
        for transaction in interchange.transactions:
            if transaction.id != kind:
                raise X12Error(
                    f"this is {codes.transaction_set_label(transaction.id)}, not {codes.transaction_set_label(kind)}",
                    transaction.start_index,
                    "ST",
                )
            found.append((interchange, transaction))
    if not found:
        raise X12Error(f"the file holds no {kind} transaction set")
    return found


def _new_inquiry(base: dict) -> EligibilityInquiry:
    blank = dict.fromkeys(("payer_name", "payer_id", "provider_name", "provider_npi", "subscriber_first_name",
                           "subscriber_last_name", "member_id"), "")  # fmt: skip
    return EligibilityInquiry(**{**blank, **base, "service_types": []})


def _party_name(segment: Segment) -> tuple[str, str]:
    return element(segment, 3), element(segment, 4)


def parse_270(text: str | bytes, *, strict: bool = True) -> list[EligibilityInquiry]:
    """The inquiries in a 270 file, one per patient (each subscriber without dependents, each dependent)."""
    inquiries: list[EligibilityInquiry] = []
    for interchange, transaction in transactions_of_kind(text, "270", strict=strict):
        control = interchange.control_number.strip()
        base = dict(
            submitter_id=interchange.sender_id,
            receiver_id=interchange.receiver_id,
            submitter_qualifier=interchange.sender_qualifier,
            receiver_qualifier=interchange.receiver_qualifier,
            control_number=int(control) if control.isascii() and control.isdigit() else 0,
            usage=interchange.usage,
            created=interchange.created,
        )
        patients: list[tuple[EligibilityInquiry, str]] = []  # (inquiry, HL id of its subscriber)
        subscribers: dict[str, EligibilityInquiry] = {}
        with_dependents: set[str] = set()
        current: EligibilityInquiry | None = None
        for offset, segment in enumerate(transaction.body, start=1):
            index, segment_id = transaction.start_index + offset, segment[0]
            if segment_id == "BHT":
                base["reference_id"] = element(segment, 3)
            elif segment_id == "HL" and element(segment, 3) == "22":
                current = _new_inquiry(base)
                subscribers[element(segment, 1)] = current
                patients.append((current, element(segment, 1)))
            elif segment_id == "HL" and element(segment, 3) == "23":
                parent_id = element(segment, 2)
                parent = subscribers.get(parent_id)
                if parent is None:
                    raise X12Error(
                        f"dependent HL {element(segment, 1)} has no subscriber HL {parent_id!r} above it", index, "HL"
                    )
                with_dependents.add(parent_id)
                current = EligibilityInquiry(**{**parent.__dict__, "service_types": [], "dependent": Dependent("", "")})
                patients.append((current, parent_id))
            elif segment_id == "NM1":
                entity = element(segment, 1)
                if entity == "PR":
                    base["payer_name"], base["payer_id"] = element(segment, 3), element(segment, 9)
                elif entity in ("1P", "FA", "80", "2B", "36", "GP", "P5"):
                    base.update(provider_name=element(segment, 3), provider_npi=element(segment, 9),
                                provider_id_qualifier=element(segment, 8),
                                provider_is_person=element(segment, 2) == "1")  # fmt: skip
                elif entity == "IL" and current:
                    current.subscriber_last_name, current.subscriber_first_name = _party_name(segment)
                    current.member_id = element(segment, 9)
                elif entity == "03" and current and current.dependent:
                    current.dependent.last_name, current.dependent.first_name = _party_name(segment)
            elif current is None:
                continue
            elif segment_id == "TRN":
                current.trace_number, current.trace_originator = element(segment, 2), element(segment, 3)
            elif segment_id == "DMG" and element(segment, 1) == "D8":
                born = read_date(element(segment, 2), "DMG02 (date of birth)", index, "DMG")
                if current.dependent:
                    current.dependent.date_of_birth, current.dependent.gender = born, element(segment, 3)
                else:
                    current.date_of_birth, current.gender = born, element(segment, 3)
            elif segment_id == "INS" and current.dependent:
                current.dependent.relationship = element(segment, 2)
            elif segment_id == "DTP" and element(segment, 1) in ("291", "472"):
                current.service_date = read_period(element(segment, 2), element(segment, 3), "the date of service",
                                                   index, "DTP")[0]  # fmt: skip
            elif segment_id == "EQ":
                current.service_types += interchange.delimiters.repetitions(element(segment, 1))
        # A subscriber with dependents is not the patient: the dependents' inquiries stand for it.
        inquiries += [inquiry for inquiry, hl in patients if inquiry.dependent is not None or hl not in with_dependents]
    return inquiries
