"""What a prescription is made of: frequencies, routes, units, and the refill rules of controlled
substances. Plain values and functions (no database), shared by the form, the MedicationRequest,
the SCRIPT message and the printed prescription.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from mederi.core import systems

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@dataclass(frozen=True)
class Frequency:
    label: str  # what the prescriber picks
    words: str  # how the sig reads
    repeat: dict  # Timing.repeat
    code: str = ""  # v3-GTSAbbreviation, when there is one
    as_needed: bool = False


FREQUENCIES = {
    "daily": Frequency("Once a day (daily)", "once a day", {"frequency": 1, "period": 1, "periodUnit": "d"}, "QD"),
    "bid": Frequency("Twice a day (BID)", "twice a day", {"frequency": 2, "period": 1, "periodUnit": "d"}, "BID"),
    "tid": Frequency("Three times a day (TID)", "three times a day", {"frequency": 3, "period": 1, "periodUnit": "d"},
                     "TID"),
    "qid": Frequency("Four times a day (QID)", "four times a day", {"frequency": 4, "period": 1, "periodUnit": "d"},
                     "QID"),
    "q8h": Frequency("Every 8 hours", "every 8 hours", {"frequency": 1, "period": 8, "periodUnit": "h"}, "Q8H"),
    "q4-6h-prn": Frequency("Every 4 to 6 hours as needed (q4-6h PRN)", "every 4 to 6 hours as needed",
                           {"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}, as_needed=True),
    "q6h-prn": Frequency("Every 6 hours as needed (q6h PRN)", "every 6 hours as needed",
                         {"frequency": 1, "period": 6, "periodUnit": "h"}, as_needed=True),
    "morning": Frequency("Every morning", "every morning", {"frequency": 1, "period": 1, "periodUnit": "d",
                                                            "when": ["MORN"]}, "AM"),
    "bedtime": Frequency("At bedtime (QHS)", "at bedtime", {"frequency": 1, "period": 1, "periodUnit": "d",
                                                            "when": ["HS"]}, "BED"),
    "weekly": Frequency("Once a week", "once a week", {"frequency": 1, "period": 1, "periodUnit": "wk"}, "WK"),
}

# SNOMED CT routes of administration: code -> (label, how the sig reads)
ROUTES = {
    "26643006": ("Oral", "by mouth"),
    "37839007": ("Sublingual", "under the tongue"),
    "6064005": ("Topical", "to the skin"),
    "45890007": ("Transdermal", "on the skin (patch)"),
    "447694001": ("Inhaled", "by inhalation"),
    "46713006": ("Nasal", "in the nose"),
    "54485002": ("Ophthalmic", "in the eye"),
    "10547007": ("Otic", "in the ear"),
    "34206005": ("Subcutaneous", "by injection under the skin"),
    "78421000": ("Intramuscular", "by injection into the muscle"),
    "37161004": ("Rectal", "rectally"),
}

# Dose units: key -> (singular, plural, UCUM code)
DOSE_UNITS = {
    "tablet": ("tablet", "tablets", "{tbl}"),
    "capsule": ("capsule", "capsules", "{capsule}"),
    "mg": ("mg", "mg", "mg"),
    "mL": ("mL", "mL", "mL"),
    "puff": ("puff", "puffs", "{puff}"),
    "drop": ("drop", "drops", "[drp]"),
    "patch": ("patch", "patches", "{patch}"),
    "application": ("application", "applications", "{application}"),
    "unit": ("unit", "units", "[iU]"),
}

# Quantity to dispense: key -> (label, NCIt code of the SCRIPT QuantityUnitOfMeasure)
QUANTITY_UNITS = {
    "tablet": ("tablets", "C48542"),
    "capsule": ("capsules", "C48480"),
    "mL": ("mL", "C28254"),
    "g": ("g", "C48155"),
    "each": ("each (inhaler, pen, patch box…)", "C64933"),
}

MAX_REFILLS = 11  # a year of monthly fills for a drug that is not controlled
MAX_DAYS = 365

# NCIt codes of the DEA schedules, as SCRIPT carries them
DEA_SCHEDULE_CODES = {"CII": "C48675", "CIII": "C48676", "CIV": "C48677", "CV": "C48679"}


@dataclass(frozen=True)
class RefillRule:
    schedule: str  # "" when not controlled
    max_refills: int
    valid_days: int  # how long the prescription can be filled from the day it is written
    words: str


RULES = {
    "": RefillRule("", MAX_REFILLS, 365, "Not a controlled substance: up to 11 refills, valid for one year."),
    "CII": RefillRule("CII", 0, 90, "Schedule II: no refills; the patient needs a new prescription for each fill."),
    "CIII": RefillRule("CIII", 5, 180, "Schedule III: at most 5 refills, within 6 months of the date written."),
    "CIV": RefillRule("CIV", 5, 180, "Schedule IV: at most 5 refills, within 6 months of the date written."),
    "CV": RefillRule("CV", MAX_REFILLS, 365, "Schedule V: refills as prescribed (up to 11 here), valid for one year."),
}
_ORDER = ["CII", "CIII", "CIV", "CV"]


@cache
def controlled_schedules() -> dict[str, str]:
    """Ingredient RxCUI -> federal DEA schedule, from knowledge/controlled_substances.csv."""
    with open(KNOWLEDGE / "controlled_substances.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for number, row in enumerate(rows, start=2):
        if row["schedule"] not in DEA_SCHEDULE_CODES or not row["rxcui"].isdigit():
            raise ValueError(f"controlled_substances.csv line {number}: bad RxCUI or schedule {row['schedule']!r}")
    return {row["rxcui"]: row["schedule"] for row in rows}


def schedule_of(ingredient_rxcuis) -> str:
    """The most restrictive schedule among the ingredients ("" when none is controlled).

    Some combinations are scheduled lower than their strongest ingredient alone (codeine with
    acetaminophen is CIII); the stricter rule is applied, which never allows too many refills.
    """
    found = [controlled_schedules().get(rxcui) for rxcui in ingredient_rxcuis]
    found = [s for s in found if s]
    return min(found, key=_ORDER.index) if found else ""


def refill_rule(schedule: str) -> RefillRule:
    return RULES[schedule]


def dose_words(value: Decimal, unit: str) -> str:
    singular, plural, _ = DOSE_UNITS[unit]
    return f"{plain_number(value)} {singular if value == 1 else plural}"


def sig_text(dose: Decimal, unit: str, route: str, frequency: str, days: int | None) -> str:
    """'Take 1 tablet by mouth twice a day for 10 days.'"""
    verb = {"26643006": "Take", "447694001": "Inhale", "45890007": "Apply", "6064005": "Apply",
            "54485002": "Instil", "10547007": "Instil", "46713006": "Spray"}.get(route, "Give")
    text = f"{verb} {dose_words(dose, unit)} {ROUTES[route][1]} {FREQUENCIES[frequency].words}"
    return text + (f" for {days} day{'s' if days != 1 else ''}." if days else ".")


def timing(frequency: str) -> dict:
    chosen = FREQUENCIES[frequency]
    result = {"repeat": dict(chosen.repeat)}
    if chosen.code:
        result["code"] = {"coding": [{"system": systems.TIMING_ABBREVIATION, "code": chosen.code}],
                          "text": chosen.label}
    else:
        result["code"] = {"text": chosen.label}
    return result


def plain_number(value: Decimal) -> str:
    """1, 2.5 (no trailing zeros, no exponent)."""
    text = format(value.normalize(), "f")
    return text


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _integer_words(number: int) -> str:
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {_integer_words(rest)}" if rest else "")
    thousands, rest = divmod(number, 1000)
    return f"{_integer_words(thousands)} thousand" + (f" {_integer_words(rest)}" if rest else "")


def number_in_words(value: Decimal) -> str:
    """Quantities as a pharmacist reads them on paper: 30 -> 'thirty', 7.5 -> 'seven point five'."""
    text = plain_number(value)
    whole, _, fraction = text.partition(".")
    words = _integer_words(int(whole))
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return words
