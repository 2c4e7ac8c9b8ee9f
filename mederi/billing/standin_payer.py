"""A make-believe payer that answers eligibility inquiries from a table of plans, for demos and tests.

`PlanTable(plans)` is a responder in the shape `StandIn(responder)` expects (payload, kind) ->
bytes: it reads the 270 and answers with the 271 that `build_271_for` writes from the member's
`PayerPlan`; a member id that is not in the table gets the payer's "subscriber not found"
rejection. The same responder serves the in-process "standin" transport of a `PayerConnection`
(no sockets), which is how the demo practice checks eligibility on a machine with no network.

`DEMO_PLANS` covers the demo patients' member ids (SUB77000 to SUB77005): most are active, one
plan has ended and one member is unknown to the payer, so the demo shows both kinds of bad news.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from decimal import Decimal

from mederi.billing.x12.eligibility import PayerPlan, build_271_for

D = Decimal


class PlanTable:
    """Answers 270s from `plans` (member id -> PayerPlan); other kinds of request get no answer."""

    def __init__(self, plans: dict[str, PayerPlan]):
        self.plans = plans
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def lookup(self, member_id: str, last_name: str, date_of_birth: dt.date | None) -> PayerPlan | None:
        return self.plans.get(member_id.strip().upper())

    def __call__(self, payload: bytes, kind: str) -> bytes | None:
        if kind != "270":
            return None
        with self._lock:
            control_number = next(self._numbers) % 999_999_999 or 1
        return build_271_for(payload, self.lookup, control_number=control_number).encode()


def demo_plans(year: int | None = None) -> dict[str, PayerPlan]:
    """The demo payers' members, by member id, for the plan year `year` (this year when None)."""
    year = year or dt.date.today().year
    begin, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return {
        "SUB77000": PayerPlan(  # Peter Chalmers, Acme
            plan_name="ACME GOLD PPO", group_number="ACME-GRP-100", insurance_type="PR",
            copays={"98": D("25.00"), "UC": D("50.00"), "86": D("150.00")},
            deductible_individual=D("1500.00"), deductible_individual_remaining=D("700.50"),
            deductible_family=D("3000.00"), deductible_family_remaining=D("2100.00"),
            coinsurance_percent=D("0.2"), out_of_pocket=D("6000.00"), out_of_pocket_remaining=D("5200.00"),
            plan_begin=begin, plan_end=end,
        ),
        "SUB77001": PayerPlan(  # María Núñez, Acme
            plan_name="ACME SILVER HMO", group_number="ACME-GRP-200", insurance_type="HM",
            copays={"98": D("35.00"), "30": D("35.00")},
            deductible_individual=D("3000.00"), deductible_individual_remaining=D("3000.00"),
            coinsurance_percent=D("0.3"), out_of_pocket=D("7500.00"), out_of_pocket_remaining=D("7500.00"),
            plan_begin=begin, plan_end=end,
        ),
        "SUB77002": PayerPlan(  # Grace Okonkwo, Medicare Part B
            plan_name="MEDICARE PART B", insurance_type="MB",
            deductible_individual=D("257.00"), deductible_individual_remaining=D("0.00"),
            coinsurance_percent=D("0.2"), plan_begin=dt.date(2016, 7, 1),
        ),
        "SUB77003": PayerPlan(  # Erik Lindqvist, Acme: the plan ended last year
            active=False, plan_name="ACME GOLD PPO", group_number="ACME-GRP-100", insurance_type="PR",
            plan_begin=dt.date(year - 1, 1, 1), plan_end=dt.date(year - 1, 12, 31),
        ),
        # SUB77004 (Samir Haddad, Medicare) is left out on purpose: the payer can't find him.
        "SUB77005": PayerPlan(  # Rosa Vega, Acme
            plan_name="ACME BRONZE EPO", group_number="ACME-GRP-300", insurance_type="EP",
            copays={"98": D("45.00")},
            deductible_individual=D("6000.00"), deductible_individual_remaining=D("4875.25"),
            coinsurance_percent=D("0.4"), out_of_pocket=D("9100.00"), out_of_pocket_remaining=D("8120.00"),
            plan_begin=begin, plan_end=end,
        ),
    }


NEW_MEMBER_PREFIX = "DEMO"  # member ids of patients registered while trying the demo


class _DemoTable(PlanTable):
    """The demo members, and anyone registered in the demo with a member id beginning DEMO: the
    stand-in then answers as for Peter Chalmers' plan, so a newly registered patient checks out."""

    def lookup(self, member_id: str, last_name: str, date_of_birth: dt.date | None) -> PayerPlan | None:
        found = super().lookup(member_id, last_name, date_of_birth)
        if found is None and member_id.strip().upper().startswith(NEW_MEMBER_PREFIX):
            return self.plans["SUB77000"]
        return found


class _DemoPayer:
    """The demo table, made for the current year the first time it answers (so a demo never shows stale plans)."""

    def __init__(self):
        self._table: PlanTable | None = None
        self._year = 0

    def __call__(self, payload: bytes, kind: str) -> bytes | None:
        year = dt.date.today().year
        if self._table is None or self._year != year:
            self._table, self._year = _DemoTable(demo_plans(year)), year
        return self._table(payload, kind)


demo_responder = _DemoPayer()
