"""The pieces an eligibility answer is made of: parties, dates, benefit lines, rejections and limits.

Each keeps the X12 codes as they came and offers their meaning in words through properties, so a
screen can show either.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from . import codes


class ServiceType(NamedTuple):
    code: str
    name: str


@dataclass
class Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""

    def __str__(self) -> str:
        place = " ".join(part for part in (self.state, self.postal_code) if part)
        return ", ".join(part for part in (self.line1, self.line2, self.city, place, self.country) if part)


@dataclass
class Reference:
    qualifier: str  # REF01: 6P group number, 18 plan number, 1L group or policy number ...
    value: str
    description: str = ""  # REF03: the group or plan name when given


@dataclass
class Contact:
    name: str
    numbers: list[tuple[str, str]] = field(default_factory=list)  # (TE phone / FX fax / EM email / UR web, value)


@dataclass
class Party:
    """A payer, provider, subscriber, dependent or related entity, as an NM1 and what follows it."""

    entity_code: str = ""  # NM101: PR payer, 1P provider, IL subscriber, 03 dependent, P3 primary care ...
    last_name: str = ""  # or the organization's name
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    id_qualifier: str = ""  # NM108: MI member ID, XX NPI, PI payer ID ...
    id: str = ""
    is_person: bool = False
    address: Address | None = None
    date_of_birth: dt.date | None = None
    gender: str = ""
    relationship: str = ""  # INS02
    references: dict[str, Reference] = field(default_factory=dict)
    contacts: list[Contact] = field(default_factory=list)

    @property
    def name(self) -> str:
        if not self.is_person:
            return self.last_name
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name, self.suffix) if part)


@dataclass
class DatePeriod:
    qualifier: str  # DTP01
    start: dt.date
    end: dt.date  # the same as start for a single date

    @property
    def meaning(self) -> str:
        return codes.DATE_QUALIFIERS.get(self.qualifier, f"Date {self.qualifier}")


@dataclass
class Trace:
    type: str  # TRN01: 1 the inquirer's trace number, 2 echoed back by the payer
    number: str
    originator: str = ""
    secondary: str = ""


@dataclass
class Rejection:
    """Why a payer could not answer (an AAA segment), and what may be done about it."""

    code: str  # AAA03
    action_code: str  # AAA04
    valid_request: bool | None  # AAA01: Y the request was valid, N it was not
    level: str  # request, payer, provider, subscriber, dependent or benefit

    @property
    def reason(self) -> str:
        return codes.reject_reason(self.code)

    @property
    def action(self) -> str:
        return codes.follow_up_action(self.action_code)

    def __str__(self) -> str:
        return f"{self.reason}. {self.action}."


@dataclass
class Benefit:
    """One EB line: a coverage status, a cost share or a limit, for some services."""

    code: str  # EB01
    coverage_level: str = ""  # EB02: IND, FAM ...
    service_types: list[ServiceType] = field(default_factory=list)  # EB03, repetitions split
    insurance_type: str = ""  # EB04
    plan_description: str = ""  # EB05
    time_period: str = ""  # EB06
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08, as a fraction: 0.2 is 20%
    quantity_qualifier: str = ""  # EB09
    quantity: Decimal | None = None  # EB10
    authorization_required: bool | None = None  # EB11
    network: str = ""  # EB12: Y in, N out, W both, U unknown
    procedure: list[str] = field(default_factory=list)  # EB13 components, e.g. ["HC", "99213"]
    messages: list[str] = field(default_factory=list)  # MSG
    related_entities: list[Party] = field(default_factory=list)  # NM1 inside LS/LE
    dates: dict[str, DatePeriod] = field(default_factory=dict)
    references: dict[str, Reference] = field(default_factory=dict)

    meaning = property(lambda self: codes.BENEFIT_CODES.get(self.code, f"Benefit {self.code}"))
    coverage_level_name = property(lambda self: codes.COVERAGE_LEVELS.get(self.coverage_level, self.coverage_level))
    insurance_type_name = property(lambda self: codes.INSURANCE_TYPES.get(self.insurance_type, self.insurance_type))
    time_period_name = property(lambda self: codes.TIME_PERIODS.get(self.time_period, self.time_period))
    quantity_name = property(
        lambda self: codes.QUANTITY_QUALIFIERS.get(self.quantity_qualifier, self.quantity_qualifier)
    )
    network_name = property(lambda self: codes.NETWORK_INDICATORS.get(self.network, ""))
    service_type_codes = property(lambda self: [service.code for service in self.service_types])

    @property
    def in_network(self) -> bool | None:
        """True for in-network only, False for out-of-network only, None when it applies to both or isn't said."""
        return {"Y": True, "N": False}.get(self.network)


@dataclass(frozen=True)
class Limit:
    """A deductible or out-of-pocket maximum: the total for the period, what is left, what is met."""

    total: Decimal | None = None
    remaining: Decimal | None = None
    met: Decimal | None = None
