"""ICD-10-CM diagnosis checks with the full code set of PyPI `simple-icd-10-cm`.

Only billable codes (leaves of the classification, with any seventh character) go on a claim. A
header code is refused with its billable children, an unknown code with the billable codes of its
nearest existing ancestor. Age and sex conflicts (a pregnancy code for a man, a newborn code for an
adult) are flagged from the small rule table `RULES`; the biller decides, so they are warnings.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import simple_icd_10_cm as icd

SUGGESTIONS = 8


class DiagnosisError(ValueError):
    """A diagnosis code that cannot be billed; `choices` are billable codes close to it."""

    def __init__(self, message: str, choices: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.choices = choices or []


@dataclass(frozen=True)
class Rule:
    first: str  # code range, compared on the code without its dot
    last: str
    sex: str = ""  # "male" or "female": the only sex the codes apply to
    min_age: int | None = None
    max_age: int | None = None
    what: str = ""

    def covers(self, code: str) -> bool:
        return self.first <= code[: len(self.first)] and code[: len(self.last)] <= self.last


RULES = (
    Rule("O00", "O9A", sex="female", min_age=9, max_age=64, what="pregnancy and childbirth"),
    Rule("Z33", "Z3A", sex="female", min_age=9, max_age=64, what="pregnancy"),
    Rule("P00", "P96", max_age=0, what="conditions of the newborn (perinatal period)"),
    Rule("Z38", "Z38", max_age=0, what="liveborn infant"),
    Rule("Z00110", "Z00129", max_age=17, what="newborn and child health examination"),
    Rule("Z0000", "Z0001", min_age=18, what="adult general medical examination"),
    Rule("N40", "N53", sex="male", what="diseases of the male genital organs"),
    Rule("C60", "C63", sex="male", what="cancer of the male genital organs"),
    Rule("N70", "N98", sex="female", what="diseases of the female genital organs"),
    Rule("C51", "C58", sex="female", what="cancer of the female genital organs"),
)


def _plain(code: str) -> str:
    return re.sub(r"[\s.]", "", (code or "").upper())


def dotted(code: str) -> str:
    plain = _plain(code)
    return plain if len(plain) <= 3 else f"{plain[:3]}.{plain[3:]}"


def _billable_under(code: str) -> list[str]:
    return [c for c in icd.get_descendants(code) if icd.is_leaf(c)][:SUGGESTIONS]


def description(code: str) -> str:
    return icd.get_description(dotted(code)) if icd.is_valid_item(dotted(code)) else ""


def billable(code: str) -> str:
    """The code written with its dot when it is billable; raises DiagnosisError with close choices otherwise."""
    plain = _plain(code)
    if not plain:
        raise DiagnosisError("Enter an ICD-10-CM diagnosis code (for example E11.9).")
    written = dotted(plain)
    if icd.is_valid_item(written) and not icd.is_chapter_or_block(written):
        if icd.is_leaf(written):
            return written
        choices = _billable_under(written)
        raise DiagnosisError(
            f"{written} ({icd.get_description(written)}) is a header, not a billable code: "
            f"choose a more specific one, such as {', '.join(choices)}.", choices)
    for length in range(len(plain) - 1, 2, -1):
        ancestor = dotted(plain[:length])
        if icd.is_valid_item(ancestor):
            choices = _billable_under(ancestor) or [ancestor]
            raise DiagnosisError(f"{written} is not an ICD-10-CM code; codes close to it: {', '.join(choices)}.",
                                 choices)
    raise DiagnosisError(f"{written} is not an ICD-10-CM code: check the letter and the first digits.")


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def conflicts(code: str, *, gender: str = "", birth_date: dt.date | None = None,
              service_date: dt.date | None = None) -> list[str]:
    """Warnings about a billable code that does not fit the patient's sex or age on the date of service."""
    plain = _plain(code)
    age = age_on(birth_date, service_date or dt.date.today())
    found = []
    for rule in RULES:
        if not rule.covers(plain):
            continue
        if rule.sex and gender in ("male", "female") and gender != rule.sex:
            found.append(f"{dotted(plain)} is a code of {rule.what}, for {rule.sex} patients; this patient is {gender}.")
        if age is not None and rule.min_age is not None and age < rule.min_age:
            found.append(f"{dotted(plain)} is a code of {rule.what}, for patients aged {rule.min_age} or more; "
                         f"this patient is {age}.")
        if age is not None and rule.max_age is not None and age > rule.max_age:
            limit = "under 1 year" if rule.max_age == 0 else f"aged {rule.max_age} or less"
            found.append(f"{dotted(plain)} is a code of {rule.what}, for patients {limit}; this patient is {age}.")
    return found
