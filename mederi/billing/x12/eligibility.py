"""Eligibility checks in X12 5010 (005010X279A1): the 270 inquiry, the 271 response, and a payer's answer.

The work is split by side: `inquiry` builds and reads 270s, `response` reads 271s into
`EligibilityResult`s (made of the pieces in `records`), and `payer` writes the 271 a payer would
send. This module is the one place callers import from.
"""

from .inquiry import IMPLEMENTATION, Dependent, EligibilityInquiry, build_270, parse_270
from .payer import PayerPlan, PlanLookup, build_271_for
from .records import Address, Benefit, Contact, DatePeriod, Limit, Party, Reference, Rejection, ServiceType, Trace
from .response import EligibilityResult, parse_271

__all__ = [
    "IMPLEMENTATION",
    "Address",
    "Benefit",
    "Contact",
    "DatePeriod",
    "Dependent",
    "EligibilityInquiry",
    "EligibilityResult",
    "Limit",
    "Party",
    "PayerPlan",
    "PlanLookup",
    "Reference",
    "Rejection",
    "ServiceType",
    "Trace",
    "build_270",
    "build_271_for",
    "parse_270",
    "parse_271",
]
