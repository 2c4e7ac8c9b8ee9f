"""A payer's side of eligibility: answer a 270 with a 271 from a plan description.

This is what a local payer stand-in runs in tests and demos: `build_271_for` reads the inquiry,
asks `plan_lookup(member_id, last_name, date_of_birth)` for the member's `PayerPlan`, and writes the
271 a payer would send back, echoing the trace number (as TRN*2), the names and the IDs. An unknown
member gets AAA*Y**75*C (subscriber not found, please correct and resubmit).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .envelope import STANDARD, Segment, Writer, X12Error
from .inquiry import IMPLEMENTATION, EligibilityInquiry, parse_270
from .values import write_decimal, x12_date


@dataclass
class PayerPlan:
    """What a payer knows about a member's coverage; amounts are Decimal."""

    active: bool = True
    plan_name: str = ""
    group_number: str = ""
    copays: dict[str, Decimal] = field(default_factory=dict)  # service type code -> co-payment per visit
    deductible_individual: Decimal | None = None  # per calendar year
    deductible_individual_remaining: Decimal | None = None
    deductible_family: Decimal | None = None
    deductible_family_remaining: Decimal | None = None
    coinsurance_percent: Decimal | None = None  # as X12 writes it: a fraction, Decimal("0.2") is 20%
    out_of_pocket: Decimal | None = None  # individual, per calendar year
    out_of_pocket_remaining: Decimal | None = None
    in_network: bool = True  # whether these figures are the in-network ones
    insurance_type: str = "C1"  # EB04: C1 commercial, HM HMO, PR PPO, MB Medicare Part B ...
    plan_begin: dt.date | None = None
    plan_end: dt.date | None = None


PlanLookup = Callable[[str, str, "dt.date | None"], "PayerPlan | None"]


def _benefit_lines(plan: PayerPlan, service_types: list[str]) -> list[Segment]:
    network = "Y" if plan.in_network else "N"
    coverage = list(dict.fromkeys(["30", *service_types]))
    lines: list[Segment] = [
        ["EB", "1" if plan.active else "6", "", STANDARD.repetition.join(coverage), plan.insurance_type, plan.plan_name]
    ]
    if not plan.active:
        return lines

    def money(code: str, level: str, service: str, period: str, amount: Decimal | None, what: str) -> None:
        if amount is not None:
            value = write_decimal(amount, what)
            lines.append(["EB", code, level, service, plan.insurance_type, "", period, value, "", "", "", "", network])

    for service, amount in plan.copays.items():
        money("B", "", service, "27", amount, f"the co-payment for service type {service}")
    if plan.coinsurance_percent is not None:
        percent = write_decimal(plan.coinsurance_percent, "the coinsurance percent")
        lines.append(["EB", "A", "IND", "30", plan.insurance_type, "", "27", "", percent, "", "", "", network])
    money("C", "IND", "30", "23", plan.deductible_individual, "the individual deductible")
    money("C", "IND", "30", "29", plan.deductible_individual_remaining, "the individual deductible remaining")
    money("C", "FAM", "30", "23", plan.deductible_family, "the family deductible")
    money("C", "FAM", "30", "29", plan.deductible_family_remaining, "the family deductible remaining")
    money("G", "IND", "30", "23", plan.out_of_pocket, "the out-of-pocket maximum")
    money("G", "IND", "30", "29", plan.out_of_pocket_remaining, "the out-of-pocket remaining")
    return lines


def _person(entity: str, last: str, first: str, id_qualifier: str = "", identifier: str = "") -> Segment:
    return ["NM1", entity, "1", last, first, "", "", "", id_qualifier, identifier]


def _demographics(born: dt.date | None, gender: str) -> list[Segment]:
    return [["DMG", "D8", x12_date(born), gender]] if born else []


def response_segments(inquiry: EligibilityInquiry, plan: PayerPlan | None, when: dt.datetime) -> list[Segment]:
    """The 271 body answering one parsed inquiry."""
    dependent = inquiry.dependent
    trace = [["TRN", "2", inquiry.trace_number, inquiry.trace_originator]] if inquiry.trace_number else []
    body = [
        ["BHT", "0022", "11", inquiry.reference_id, when.strftime("%Y%m%d"), when.strftime("%H%M")],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", inquiry.payer_name, "", "", "", "", "PI", inquiry.payer_id],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "1P", "1" if inquiry.provider_is_person else "2", inquiry.provider_name, "", "", "", "",
         inquiry.provider_id_qualifier, inquiry.provider_npi],
        ["HL", "3", "2", "22", "1" if dependent and plan else "0"],
        *([] if dependent and plan else trace),
        _person("IL", inquiry.subscriber_last_name, inquiry.subscriber_first_name, "MI", inquiry.member_id),
    ]  # fmt: skip
    if plan is None:
        return body + [["AAA", "Y", "", "75", "C"], *_demographics(inquiry.date_of_birth, inquiry.gender)]
    body += [["REF", "6P", plan.group_number]] if plan.group_number else []
    body += _demographics(inquiry.date_of_birth, inquiry.gender)
    dates = [["DTP", "346", "D8", x12_date(plan.plan_begin)]] if plan.plan_begin else []
    dates += [["DTP", "347", "D8", x12_date(plan.plan_end)]] if plan.plan_end else []
    benefits = _benefit_lines(plan, inquiry.service_types)
    if not dependent:
        return body + dates + benefits
    return body + [
        ["HL", "4", "3", "23", "0"],
        *trace,
        _person("03", dependent.last_name, dependent.first_name),
        *_demographics(dependent.date_of_birth, dependent.gender),
        *([["INS", "N", dependent.relationship]] if dependent.relationship else []),
        *dates,
        *benefits,
    ]


def build_271_for(
    request_270_text: str | bytes,
    plan_lookup: PlanLookup,
    *,
    control_number: int = 1,
    when: dt.datetime | None = None,
) -> str:
    """The 271 interchange a payer would send back for a 270, one transaction set per patient asked about."""
    inquiries = parse_270(request_270_text, strict=False)
    if not inquiries:
        raise X12Error("the 270 asks about no subscriber or patient (it has no HL*22 level)")
    when = when or dt.datetime.now()
    first = inquiries[0]
    writer = Writer(
        sender_id=first.receiver_id or "PAYER",
        receiver_id=first.submitter_id or "SUBMITTER",
        sender_qualifier=first.receiver_qualifier.strip() or "ZZ",
        receiver_qualifier=first.submitter_qualifier.strip() or "ZZ",
        control_number=control_number,
        when=when,
        usage=first.usage if first.usage in ("T", "P") else "T",
    )
    for inquiry in inquiries:
        plan = plan_lookup(inquiry.member_id, inquiry.subscriber_last_name, inquiry.date_of_birth)
        if plan is not None and not isinstance(plan, PayerPlan):
            raise X12Error(f"plan_lookup must return a PayerPlan or None, not {type(plan).__name__}")
        writer.add("271", response_segments(inquiry, plan, when), implementation=IMPLEMENTATION)
    return writer.text()
