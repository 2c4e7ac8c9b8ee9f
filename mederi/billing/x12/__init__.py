"""ASC X12 5010 for Mederi: the interchange envelope and the 270/271 eligibility transactions.

`envelope` reads and writes interchanges (ISA/GS/ST ... SE/GE/IEA), `eligibility` builds 270
inquiries and reads 271 answers (005010X279A1), and `codes` holds the code lists that turn the
answers into words a front desk understands. Everything here is pure Python: no models, no database.
"""

from .eligibility import (
    Benefit,
    Dependent,
    EligibilityInquiry,
    EligibilityResult,
    Limit,
    Party,
    PayerPlan,
    Rejection,
    build_270,
    build_271_for,
    parse_270,
    parse_271,
)
from .envelope import Interchange, Writer, X12Error, parse, parse_all, write_interchange

__all__ = [
    "Benefit",
    "Dependent",
    "EligibilityInquiry",
    "EligibilityResult",
    "Interchange",
    "Limit",
    "Party",
    "PayerPlan",
    "Rejection",
    "Writer",
    "X12Error",
    "build_270",
    "build_271_for",
    "parse",
    "parse_270",
    "parse_271",
    "parse_all",
    "write_interchange",
]
