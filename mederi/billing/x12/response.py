"""Reading a 271 eligibility response (005010X279A1) into results a front desk can use.

`parse_271` gives one `EligibilityResult` per subscriber or dependent HL: who the payer found,
whether the coverage is active, the plan, its dates, every EB benefit line in words, and the AAA
rejections that apply to that patient (from the payer, provider, subscriber, dependent or benefit
level). A payer or provider level rejection with no patient under it still yields a result, with
no subscriber, so a whole-transaction rejection is never lost.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from . import codes
from .envelope import Delimiters, Segment, X12Error, element
from .inquiry import transactions_of_kind
from .records import (
    Address,
    Benefit,
    Contact,
    DatePeriod,
    Limit,
    Party,
    Reference,
    Rejection,
    ServiceType,
    Trace,
)
from .values import read_date, read_decimal, read_period

_TOTAL_PERIODS = ("23", "22", "21", "25", "")  # calendar year, service year, year, contract, not said
_INDIVIDUAL = ("IND", "EMP", "")


def _network_rank(benefit: Benefit, in_network: bool) -> int | None:
    return {"Y" if in_network else "N": 0, "W": 1, "": 2, "U": 2}.get(benefit.network)


def _service_rank(benefit: Benefit, service_type: str) -> int | None:
    codes_ = benefit.service_type_codes
    if service_type in codes_:
        return 0
    return 1 if not codes_ or "30" in codes_ else None  # general plan coverage stands in for the specific


def _best(benefits, service_type: str, in_network: bool, extra_rank=lambda benefit: 0) -> Benefit | None:
    ranked = []
    for position, benefit in enumerate(benefits):
        service, network, extra = _service_rank(benefit, service_type), _network_rank(benefit, in_network), None
        if service is not None and network is not None and (extra := extra_rank(benefit)) is not None:
            ranked.append(((service, network, extra, position), benefit))
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


@dataclass
class EligibilityResult:
    """The payer's answer for one patient; `rejections` says when and why it could not answer."""

    transaction_control_number: str = ""
    payer: Party | None = None
    provider: Party | None = None
    subscriber: Party | None = None
    patient: Party | None = None  # the dependent, or the subscriber when the patient is the subscriber
    trace_numbers: list[Trace] = field(default_factory=list)
    dates: dict[str, DatePeriod] = field(default_factory=dict)
    benefits: list[Benefit] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # envelope problems tolerated while reading

    @property
    def patient_is_subscriber(self) -> bool:
        return self.patient is self.subscriber

    @property
    def member_id(self) -> str:
        return self.subscriber.id if self.subscriber else ""

    @property
    def trace_number(self) -> str:
        return self.trace_numbers[0].number if self.trace_numbers else ""

    @property
    def rejected(self) -> bool:
        return bool(self.rejections)

    @property
    def active(self) -> bool | None:
        """True when EB01 says active (1-5), False when inactive (6-8), None when the answer doesn't say.

        Lines for the plan as a whole (service type 30 or none) decide; service-specific ones only
        when there are no plan-wide lines.
        """
        statuses = [b for b in self.benefits if b.code in codes.ACTIVE_CODES | codes.INACTIVE_CODES]
        plan_wide = [b for b in statuses if not b.service_types or "30" in b.service_type_codes]
        deciding = plan_wide or statuses
        if not deciding:
            return None
        return any(b.code in codes.ACTIVE_CODES for b in deciding)

    def _reference(self, qualifier: str) -> Reference | None:
        for party in (self.patient, self.subscriber):
            if party and qualifier in party.references:
                return party.references[qualifier]
        return None

    @property
    def plan_name(self) -> str:
        plan = self._reference("18")
        if plan and plan.description:
            return plan.description
        described = [b for b in self.benefits if b.plan_description]
        status = [b for b in described if b.code in codes.ACTIVE_CODES | codes.INACTIVE_CODES]
        return (status or described)[0].plan_description if described else ""

    @property
    def plan_number(self) -> str:
        plan = self._reference("18")
        return plan.value if plan else ""

    @property
    def group_number(self) -> str:
        group = self._reference("6P") or self._reference("1L")
        return group.value if group else ""

    @property
    def group_name(self) -> str:
        group = self._reference("6P")
        return group.description if group else ""

    def _date(self, *qualifiers: str) -> DatePeriod | None:
        return next((self.dates[q] for q in qualifiers if q in self.dates), None)

    @property
    def coverage_start(self) -> dt.date | None:
        found = self._date("346", "356", "291", "307")
        return found.start if found else None

    @property
    def coverage_end(self) -> dt.date | None:
        single = self._date("347", "357")
        if single:
            return single.start
        ranged = self._date("291", "307")
        return ranged.end if ranged and ranged.end != ranged.start else None

    def copay(self, service_type: str, in_network: bool = True) -> Decimal | None:
        """The co-payment for a service type (EB01 B), falling back to the plan-wide one."""
        found = _best([b for b in self.benefits if b.code == "B" and b.amount is not None], service_type, in_network)
        return found.amount if found else None

    def coinsurance(self, service_type: str = "30", in_network: bool = True) -> Decimal | None:
        """The patient's share as a fraction (Decimal("0.2") is 20%), from EB01 A."""
        found = _best([b for b in self.benefits if b.code == "A" and b.percent is not None], service_type, in_network)
        return found.percent if found else None

    def _limit(self, code: str, in_network: bool, family: bool, service_type: str) -> Limit:
        levels = ("FAM",) if family else _INDIVIDUAL
        lines = [b for b in self.benefits if b.code == code and b.amount is not None and b.coverage_level in levels]

        def pick(periods):
            rank = lambda b: periods.index(b.time_period) if b.time_period in periods else None  # noqa: E731
            found = _best(lines, service_type, in_network, rank)
            return found.amount if found else None

        return Limit(total=pick(_TOTAL_PERIODS), remaining=pick(("29",)), met=pick(("24",)))

    def deductible(self, in_network: bool = True, family: bool = False, service_type: str = "30") -> Limit:
        """The deductible for the year (EB01 C): total, remaining and met so far, as the payer gave them."""
        return self._limit("C", in_network, family, service_type)

    def out_of_pocket(self, in_network: bool = True, family: bool = False, service_type: str = "30") -> Limit:
        """The out-of-pocket maximum (EB01 G): total, remaining and met so far, as the payer gave them."""
        return self._limit("G", in_network, family, service_type)


def _party(segment: Segment) -> Party:
    return Party(
        entity_code=element(segment, 1),
        is_person=element(segment, 2) == "1",
        last_name=element(segment, 3),
        first_name=element(segment, 4),
        middle_name=element(segment, 5),
        suffix=element(segment, 7),
        id_qualifier=element(segment, 8),
        id=element(segment, 9),
    )


def _benefit(segment: Segment, delimiters: Delimiters, index: int) -> Benefit:
    def number(position: int, what: str) -> Decimal | None:
        return read_decimal(element(segment, position), f"EB{position:02d} ({what})", index, "EB")

    return Benefit(
        code=element(segment, 1),
        coverage_level=element(segment, 2),
        service_types=[ServiceType(c, codes.service_type_name(c)) for c in delimiters.repetitions(element(segment, 3))],
        insurance_type=element(segment, 4),
        plan_description=element(segment, 5),
        time_period=element(segment, 6),
        amount=number(7, "amount"),
        percent=number(8, "percent"),
        quantity_qualifier=element(segment, 9),
        quantity=number(10, "quantity"),
        authorization_required={"Y": True, "N": False}.get(element(segment, 11)),
        network=element(segment, 12),
        procedure=delimiters.components(element(segment, 13)),
    )


_LEVELS = {"20": "payer", "21": "provider", "22": "subscriber", "23": "dependent"}


class _Reading:
    """Reads one 271 transaction set, segment by segment, keeping track of the loop it is in."""

    def __init__(self, transaction, delimiters: Delimiters, warnings: list[str]):
        self.transaction = transaction
        self.delimiters = delimiters
        self.warnings = warnings
        self.results: list[EligibilityResult] = []
        self.payer: Party | None = None
        self.provider: Party | None = None
        self.upper_rejections: list[Rejection] = []  # payer and provider level, inherited by each patient
        self.waiting = False  # a payer/provider level with no patient under it yet
        self.level = ""
        self.party: Party | None = None  # what NM1, N3, N4, DMG, REF, PER apply to
        self.current: EligibilityResult | None = None
        self.subscribers: dict[str, EligibilityResult] = {}
        self.benefit: Benefit | None = None
        self.related: Party | None = None
        self.in_related_loop = False

    def new_result(self, **values) -> EligibilityResult:
        return EligibilityResult(
            transaction_control_number=self.transaction.control_number, payer=self.payer, provider=self.provider,
            warnings=list(self.warnings), **values,
        )  # fmt: skip

    def close_waiting(self) -> None:
        """A payer/provider level rejected with no patient under it still reaches the caller."""
        if self.waiting and self.upper_rejections:
            self.results.append(self.new_result(rejections=list(self.upper_rejections)))
        self.waiting = False

    def read(self) -> list[EligibilityResult]:
        for offset, segment in enumerate(self.transaction.body, start=1):
            self.segment(segment, self.transaction.start_index + offset)
        self.close_waiting()
        if not self.results:
            self.results.append(self.new_result(rejections=list(self.upper_rejections)))
        return self.results

    def hierarchy(self, segment: Segment, index: int) -> None:
        self.level, self.benefit, self.related, self.in_related_loop = element(segment, 3), None, None, False
        self.party = None
        if self.level == "20":
            self.close_waiting()
            self.payer, self.provider, self.upper_rejections, self.waiting = None, None, [], True
        elif self.level == "21":
            if self.provider is not None or any(r.level == "provider" for r in self.upper_rejections):
                self.close_waiting()
            self.provider, self.waiting = None, True
            self.upper_rejections = [r for r in self.upper_rejections if r.level != "provider"]
        elif self.level == "22":
            self.waiting = False
            self.party = Party(entity_code="IL", is_person=True)
            self.current = self.new_result(subscriber=self.party, patient=self.party,
                                           rejections=list(self.upper_rejections))  # fmt: skip
            self.subscribers[element(segment, 1)] = self.current
            self.results.append(self.current)
        elif self.level == "23":
            parent = self.subscribers.get(element(segment, 2))
            if parent is None:
                raise X12Error(f"dependent HL {element(segment, 1)} has no subscriber HL above it", index, "HL")
            self.party = Party(entity_code="03", is_person=True)
            self.current = EligibilityResult(
                transaction_control_number=parent.transaction_control_number, payer=parent.payer,
                provider=parent.provider, subscriber=parent.subscriber, patient=self.party, dates=dict(parent.dates),
                rejections=list(parent.rejections), warnings=list(parent.warnings),
            )  # fmt: skip
            self.results.append(self.current)

    def name(self, segment: Segment) -> None:
        party = _party(segment)
        if self.in_related_loop and self.benefit is not None:
            self.related = party
            self.benefit.related_entities.append(party)
        elif self.level == "20":
            self.payer = self.party = party
        elif self.level == "21":
            self.provider = self.party = party
        elif self.level in ("22", "23") and self.party is not None and self.benefit is None:
            for key in ("entity_code", "is_person", "last_name", "first_name", "middle_name", "suffix",
                        "id_qualifier", "id"):  # fmt: skip
                setattr(self.party, key, getattr(party, key))

    def segment(self, segment: Segment, index: int) -> None:
        segment_id = segment[0]
        target = self.related if self.in_related_loop else self.party
        if segment_id == "HL":
            self.hierarchy(segment, index)
        elif segment_id == "NM1":
            self.name(segment)
        elif segment_id == "N3" and target is not None:
            target.address = target.address or Address()
            target.address.line1, target.address.line2 = element(segment, 1), element(segment, 2)
        elif segment_id == "N4" and target is not None:
            target.address = target.address or Address()
            address = target.address
            address.city, address.state = element(segment, 1), element(segment, 2)
            address.postal_code, address.country = element(segment, 3), element(segment, 4)
        elif segment_id == "PER" and target is not None:
            numbers = [(element(segment, i), element(segment, i + 1)) for i in (3, 5, 7) if element(segment, i + 1)]
            target.contacts.append(Contact(element(segment, 2), numbers))
        elif segment_id == "REF":
            reference = Reference(element(segment, 1), element(segment, 2), element(segment, 3))
            holder = self.benefit if self.benefit is not None and not self.in_related_loop else target
            if holder is not None:
                holder.references[reference.qualifier] = reference
        elif segment_id == "DMG" and self.party is not None and element(segment, 1) == "D8":
            self.party.date_of_birth = read_date(element(segment, 2), "DMG02 (date of birth)", index, "DMG")
            self.party.gender = element(segment, 3)
        elif segment_id == "INS" and self.party is not None:
            self.party.relationship = element(segment, 2)
        elif segment_id == "TRN" and self.current is not None and self.level in ("22", "23"):
            self.current.trace_numbers.append(Trace(*(element(segment, i) for i in range(1, 5))))
        elif segment_id == "DTP":
            start, end = read_period(element(segment, 2), element(segment, 3), f"DTP*{element(segment, 1)}", index,
                                     "DTP")  # fmt: skip
            period = DatePeriod(element(segment, 1), start, end)
            holder = self.benefit if self.benefit is not None else self.current
            if holder is not None:
                holder.dates[period.qualifier] = period
        elif segment_id == "AAA":
            self.rejection(segment)
        elif segment_id == "EB":
            if self.current is None or self.level not in ("22", "23"):
                raise X12Error("an EB benefit line appears outside a subscriber or dependent loop", index, "EB")
            self.benefit, self.related, self.in_related_loop = _benefit(segment, self.delimiters, index), None, False
            self.current.benefits.append(self.benefit)
        elif segment_id == "MSG" and self.benefit is not None:
            self.benefit.messages.append(element(segment, 1))
        elif segment_id == "LS":
            self.in_related_loop = True
        elif segment_id == "LE":
            self.in_related_loop, self.related = False, None

    def rejection(self, segment: Segment) -> None:
        if self.benefit is not None:
            level = "benefit"
        elif self.level == "20" and self.payer is None:
            level = "request"
        else:
            level = _LEVELS.get(self.level, "request")
        rejection = Rejection(
            code=element(segment, 3),
            action_code=element(segment, 4),
            valid_request={"Y": True, "N": False}.get(element(segment, 1)),
            level=level,
        )
        if self.level in ("22", "23") and self.current is not None:
            self.current.rejections.append(rejection)
        else:
            self.upper_rejections.append(rejection)


def parse_271(text: str | bytes, *, strict: bool = False) -> list[EligibilityResult]:
    """Every patient's answer in a 271 file.

    By default a trailer whose control number doesn't echo its header (a common payer slip) is
    tolerated and noted in each result's `warnings`; counts are always checked. Raises
    `X12Error` for anything that is not a readable 271.
    """
    results = []
    for interchange, transaction in transactions_of_kind(text, "271", strict=strict):
        warnings = [str(warning) for warning in interchange.warnings]
        results += _Reading(transaction, interchange.delimiters, warnings).read()
    return results
