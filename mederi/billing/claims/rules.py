"""The scrubber's payer rules as data: procedure pairs (NCCI style), diagnoses a procedure needs,
bilateral procedures and the ages of preventive visit codes, read from `claims/data/*.csv`.

Each check takes the claim's lines as `Line`s and answers `Issue`s whose `expression` names the
claim field to fix (`item[2].modifier`, `item[1].diagnosisSequence`): the claim page links there.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

from mederi.core.errors import Issue

DATA = Path(__file__).parent / "data"
RULE = "business-rule"  # the FHIR IssueType of a payer rule a claim breaks


@dataclass
class Line:
    sequence: int
    code: str
    modifiers: list[str] = field(default_factory=list)
    units: int = 1
    diagnoses: list[str] = field(default_factory=list)  # the codes the line points to, dotted


@dataclass(frozen=True)
class CodeRange:
    first: str
    last: str

    @classmethod
    def parse(cls, text: str) -> CodeRange:
        first, _, last = text.strip().partition("-")
        return cls(first, last or first)

    def __contains__(self, code: str) -> bool:
        return len(code) == len(self.first) and self.first <= code <= self.last

    def __str__(self) -> str:
        return self.first if self.first == self.last else f"{self.first}–{self.last}"


@dataclass(frozen=True)
class Pair:
    column1: CodeRange
    column2: CodeRange
    indicator: int  # 0: never together; 1: together with one of `modifiers` on the column 2 line
    modifiers: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Support:
    procedures: tuple[CodeRange, ...]
    prefixes: tuple[str, ...]  # ICD-10-CM without dots
    what: str


def _rows(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


@functools.cache
def pairs() -> tuple[Pair, ...]:
    return tuple(Pair(CodeRange.parse(r["column1"]), CodeRange.parse(r["column2"]), int(r["indicator"]),
                      tuple(m for m in r["modifiers"].split(":") if m), r["why"]) for r in _rows("procedure_pairs.csv"))


@functools.cache
def supports() -> tuple[Support, ...]:
    return tuple(Support(tuple(CodeRange.parse(p) for p in r["procedures"].split(":")),
                         tuple(r["diagnoses"].split(":")), r["what"]) for r in _rows("diagnosis_support.csv"))


@functools.cache
def bilateral() -> dict[str, str]:
    return {r["code"]: r["what"] for r in _rows("bilateral.csv")}


@functools.cache
def preventive_ages() -> dict[str, tuple[int, int | None]]:
    ages = {}
    for row in _rows("preventive_ages.csv"):
        band = (int(row["min_age"]), int(row["max_age"]) if row["max_age"] else None)
        ages[row["new_patient"]] = ages[row["established"]] = band
    return ages


def _plain(code: str) -> str:
    return code.replace(".", "").upper()


def procedure_pairs(lines: list[Line]) -> list[Issue]:
    """Column 2 lines billed with their column 1 code on the same claim without an allowed modifier."""
    found = []
    for pair in pairs():
        firsts = [line for line in lines if line.code in pair.column1]
        if not firsts:
            continue
        for second in lines:
            if second.code not in pair.column2 or any(second is first for first in firsts):
                continue
            first = firsts[0].code
            where = f"item[{second.sequence}]"
            if pair.indicator == 0:
                found.append(Issue(f"Line {second.sequence}: {second.code} is not billed with {first} — {pair.why}. "
                                   f"Remove line {second.sequence}.", code=RULE, expression=f"{where}.productOrService"))
            elif not set(pair.modifiers) & set(second.modifiers):
                wanted = " or ".join(pair.modifiers)
                found.append(Issue(f"Line {second.sequence}: {second.code} with {first} needs modifier {wanted} — "
                                   f"{pair.why}. Add {pair.modifiers[0]} to line {second.sequence} if the service "
                                   "was separate, or remove the line.", code=RULE, expression=f"{where}.modifier"))
    return found


def diagnosis_support(lines: list[Line]) -> list[Issue]:
    """Lines whose procedure is paid only for certain diagnoses, pointing to none of them."""
    found = []
    for line in lines:
        for rule in supports():
            if not any(line.code in procedures for procedures in rule.procedures):
                continue
            if not any(_plain(d).startswith(rule.prefixes) for d in line.diagnoses):
                examples = ", ".join(p if len(p) <= 3 else f"{p[:3]}.{p[3:]}" for p in rule.prefixes[:4])
                found.append(Issue(f"Line {line.sequence}: {line.code} ({rule.what}) needs a diagnosis that supports "
                                   f"it, such as {examples}; point the line to one (add it to the claim's diagnoses "
                                   "first if it is missing).", code=RULE,
                                   expression=f"item[{line.sequence}].diagnosisSequence"))
    return found


def bilateral_sides(lines: list[Line]) -> list[Issue]:
    """A side-specific procedure billed twice on the claim where a line does not say which side."""
    found = []
    codes = bilateral()
    for code, what in codes.items():
        same = [line for line in lines if line.code == code]
        if sum(line.units for line in same) < 2:
            continue
        for line in same:
            if not {"50", "RT", "LT", "59", "XS"} & set(line.modifiers):
                found.append(Issue(f"Line {line.sequence}: {code} ({what}) is billed twice; say which side with RT "
                                   "or LT on each line, or bill one line with modifier 50 (both sides).", code=RULE,
                                   expression=f"item[{line.sequence}].modifier"))
    return found


def preventive_age(lines: list[Line], age: int | None) -> list[Issue]:
    """A preventive visit code for another age band than the patient's on the date of service."""
    if age is None:
        return []
    found = []
    for line in lines:
        band = preventive_ages().get(line.code)
        if band is None:
            continue
        low, high = band
        if age < low or (high is not None and age > high):
            fitting = [code for code, (a, b) in sorted(preventive_ages().items())
                       if a <= age and (b is None or age <= b) and code[:4] == line.code[:4]]
            better = f" Use {fitting[0]} for this age." if fitting else ""
            found.append(Issue(f"Line {line.sequence}: {line.code} is a preventive visit for ages "
                               f"{low}{'+' if high is None else f' to {high}'}; the patient was {age}.{better}",
                               code=RULE, expression=f"item[{line.sequence}].productOrService"))
    return found
