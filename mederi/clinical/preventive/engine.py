"""Judging the rules of rules.py against a patient's record on a given day.

Each rule ends in one result: due (never done, or not yet this season), overdue (the last one has
run out: since the day it did), satisfied (with the evidence and when it is due again) or not
applicable (with why). Everything here is pure: the record and the day in, results out.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mederi.clinical.preventive.record import Finding, PatientRecord, person_words
from mederi.clinical.preventive.rules import RULES, Rule

DUE, OVERDUE, SATISFIED, NOT_APPLICABLE = "due", "overdue", "satisfied", "not-applicable"
STATUS_LABELS = {DUE: "Due", OVERDUE: "Overdue", SATISFIED: "Up to date", NOT_APPLICABLE: "Not applicable"}
OVERWEIGHT_BMI = Decimal("25")
FLU_SEASON_MONTH = 8  # a season's vaccine counts from August 1
FLU_DUE_BY_MONTH = 11  # ... and is overdue from November 1 (CDC: vaccinate by the end of October)


@dataclass(frozen=True)
class Result:
    rule: Rule
    status: str
    reason: str  # why, in words a clinician reads at a glance
    todo: str = ""  # what to do, when something is to be done
    since: date | None = None  # overdue since (or due since, for a season or a dose series)
    next_due: date | None = None  # when a satisfied rule is due again
    evidence: Finding | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def summary(self) -> str:
        if self.status == OVERDUE and self.since:
            return f"{self.rule.title}: overdue since {self.since.isoformat()}"
        return f"{self.rule.title}: {self.status_label.lower()}"

    @property
    def needs_action(self) -> bool:
        return self.status in (DUE, OVERDUE)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter: Feb 29 + 12 → Feb 28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def risk_factors(record: PatientRecord, today: date) -> dict[str, str]:
    """The risk factors found in the record, each with the words that say where it was found."""
    found: dict[str, str] = {}
    for name in ("diabetes", "hypertension", "dyslipidemia", "cardiovascular-disease", "pneumococcal-risk"):
        condition = record.has_condition(name, until=today)
        if condition:
            found[name] = condition.label
    status = record.latest("smoking-status", until=today)
    if status is not None and "current-smoker" in status.value_sets:
        found["smoker"] = "current smoker"
    elif status is None and record.has_condition("tobacco-user-condition", until=today):
        found["smoker"] = record.has_condition("tobacco-user-condition").label
    bmi = record.latest("bmi", until=today)
    if bmi is not None and bmi.value is not None and bmi.value >= OVERWEIGHT_BMI:
        found["overweight"] = f"BMI {bmi.value} on {bmi.on.isoformat()}"
    if "pneumococcal-risk" not in found and ({"diabetes", "smoker"} & set(found)):
        found["pneumococcal-risk"] = found.get("diabetes") or found["smoker"]
    return found


def _not_applicable(rule: Rule, why: str) -> Result:
    return Result(rule, NOT_APPLICABLE, why)


def _eligibility(rule: Rule, record: PatientRecord, today: date, risks: dict[str, str]) -> Result | None:
    """A not-applicable result when the patient is outside the rule, else None."""
    they, _ = person_words(record)
    age = record.age_on(today)
    if age is None:
        return _not_applicable(rule, "The birth date is not recorded.")
    if rule.sex and record.sex != rule.sex:
        return _not_applicable(rule, f"Applies to {'women' if rule.sex == 'female' else 'men'}.")
    ages = f"from {rule.min_age}" + (f" to {rule.max_age}" if rule.max_age is not None else "")
    if age < rule.min_age or (rule.max_age is not None and age > rule.max_age):
        return _not_applicable(rule, f"Applies {ages}; {they} {'is' if they != 'they' else 'are'} {age}.")
    if rule.risks and not set(rule.risks) & set(risks):
        return _not_applicable(rule, "None of its risk factors is recorded.")
    for blocker in rule.not_if:
        if blocker in risks:
            return _not_applicable(rule, f"Not for patients with {risks[blocker]}.")
        found = record.has_condition(blocker, until=today)
        if found:
            return _not_applicable(rule, f"Ruled out by {found.label}.")
    return None


def _by_interval(rule: Rule, record: PatientRecord, today: date) -> Result:
    age = record.age_on(today) or 0
    best: tuple[date, Finding, str] | None = None
    for option in rule.options:
        if age < option.min_age:
            continue
        finding = record.latest(option.code_set, until=today)
        if finding is not None:
            good_until = add_months(finding.on, option.years * 12 + option.months)
            if best is None or good_until > best[0]:
                best = (good_until, finding, option.label)
    if best is None:
        labels = " or ".join(dict.fromkeys(o.label for o in rule.options if age >= o.min_age))
        return Result(rule, DUE, f"No {labels} on record.", rule.advice)
    good_until, finding, label = best
    if today < good_until:
        return Result(rule, SATISFIED, f"{label.capitalize()} on {finding.on.isoformat()}.", next_due=good_until,
                      evidence=finding)
    return Result(rule, OVERDUE, f"The last {label} was on {finding.on.isoformat()}.", rule.advice,
                  since=good_until, evidence=finding)


def _influenza(rule: Rule, record: PatientRecord, today: date) -> Result:
    year = today.year if today.month >= FLU_SEASON_MONTH else today.year - 1
    season_start, due_by = date(year, FLU_SEASON_MONTH, 1), date(year, FLU_DUE_BY_MONTH, 1)
    season = f"{year}–{str(year + 1)[2:]}"
    given = record.latest("influenza-vaccine", since=season_start, until=today)
    if given:
        return Result(rule, SATISFIED, f"Given on {given.on.isoformat()} for the {season} season.",
                      next_due=date(year + 1, FLU_SEASON_MONTH, 1), evidence=given)
    if today < due_by:
        return Result(rule, DUE, f"No influenza vaccine yet for the {season} season.", rule.advice, since=season_start)
    return Result(rule, OVERDUE, f"No influenza vaccine for the {season} season.", rule.advice, since=due_by)


def _tetanus(rule: Rule, record: PatientRecord, today: date) -> Result:
    tdap = record.latest("tdap", until=today)
    last = record.latest("tetanus", until=today)
    if tdap is None:
        if last and today >= add_months(last.on, 120):
            return Result(rule, OVERDUE, f"No Tdap on record; the last Td was on {last.on.isoformat()}.",
                          "Give Tdap (once as an adult; it also boosts tetanus).", since=add_months(last.on, 120),
                          evidence=last)
        return Result(rule, DUE, "No Tdap on record as an adult.", "Give Tdap once.", evidence=last)
    good_until = add_months(last.on, 120)
    if today < good_until:
        return Result(rule, SATISFIED, f"{last.label} on {last.on.isoformat()}.", next_due=good_until, evidence=last)
    return Result(rule, OVERDUE, f"The last tetanus booster was on {last.on.isoformat()}.", "Give a Td or Tdap booster.",
                  since=good_until, evidence=last)


def _zoster(rule: Rule, record: PatientRecord, today: date) -> Result:
    doses = sorted({f.on for f in record.of("zoster-recombinant", until=today)})
    if len(doses) >= 2:
        return Result(rule, SATISFIED, f"Two doses: {doses[0].isoformat()} and {doses[1].isoformat()}.",
                      evidence=record.latest("zoster-recombinant", until=today))
    if not doses:
        return Result(rule, DUE, "No recombinant zoster vaccine on record.", rule.advice)
    second_from, second_by = add_months(doses[0], 2), add_months(doses[0], 6)
    first = record.latest("zoster-recombinant", until=today)
    if today < second_from:
        return Result(rule, SATISFIED, f"First dose on {doses[0].isoformat()}; the second is due from "
                                       f"{second_from.isoformat()}.", next_due=second_from, evidence=first)
    status, since = (DUE, second_from) if today < second_by else (OVERDUE, second_by)
    return Result(rule, status, f"Only one dose, on {doses[0].isoformat()}.", "Give the second dose.", since=since,
                  evidence=first)


def _pneumococcal(rule: Rule, record: PatientRecord, today: date, risks: dict[str, str]) -> Result:
    age = record.age_on(today) or 0
    if age < 65 and "pneumococcal-risk" not in risks:
        return _not_applicable(rule, "Applies from 65, or earlier with a risk condition; none is recorded.")
    complete = record.latest("pcv20-or-21", until=today)
    if complete:
        return Result(rule, SATISFIED, f"{complete.label} on {complete.on.isoformat()}.", evidence=complete)
    conjugate = record.latest("pcv15", until=today) or record.latest("pcv13", until=today)
    polysaccharide = record.latest("ppsv23", until=today)
    if conjugate and polysaccharide and polysaccharide.on > conjugate.on:
        return Result(rule, SATISFIED, f"{conjugate.label} on {conjugate.on.isoformat()} and PPSV23 on "
                                       f"{polysaccharide.on.isoformat()}.", evidence=polysaccharide)
    if conjugate:
        due_from = add_months(conjugate.on, 12)
        if today < due_from:
            return Result(rule, SATISFIED, f"{conjugate.label} on {conjugate.on.isoformat()}; PPSV23 is due from "
                                           f"{due_from.isoformat()}.", next_due=due_from, evidence=conjugate)
        return Result(rule, DUE, f"{conjugate.label} on {conjugate.on.isoformat()}, no PPSV23 since.",
                      "Give PPSV23 (or PCV20/PCV21).", since=due_from, evidence=conjugate)
    if polysaccharide:
        return Result(rule, DUE, f"PPSV23 on {polysaccharide.on.isoformat()} but no conjugate vaccine.",
                      "Give PCV20 or PCV21, at least a year after the PPSV23.", since=add_months(polysaccharide.on, 12),
                      evidence=polysaccharide)
    why = f"Age {age}." if age >= 65 else f"Risk condition: {risks['pneumococcal-risk']}."
    return Result(rule, DUE, f"No pneumococcal vaccine on record. {why}", rule.advice)


def _statin(rule: Rule, record: PatientRecord, today: date, risks: dict[str, str]) -> Result:
    found = [risks[r] for r in rule.risks if r in risks]
    if "statins" in record.drug_classes:
        return Result(rule, SATISFIED, "A statin is on the medication list.")
    return Result(rule, DUE, f"No statin on the medication list; risk factors: {', '.join(found)}.", rule.advice)


def evaluate(rule: Rule, record: PatientRecord, today: date, risks: dict[str, str] | None = None) -> Result:
    risks = risk_factors(record, today) if risks is None else risks
    outside = _eligibility(rule, record, today, risks)
    if outside is not None:
        return outside
    if rule.schedule == "influenza":
        return _influenza(rule, record, today)
    if rule.schedule == "tetanus":
        return _tetanus(rule, record, today)
    if rule.schedule == "zoster":
        return _zoster(rule, record, today)
    if rule.schedule == "pneumococcal":
        return _pneumococcal(rule, record, today, risks)
    if rule.schedule == "statin":
        return _statin(rule, record, today, risks)
    return _by_interval(rule, record, today)


def evaluate_all(record: PatientRecord, today: date, rules=RULES) -> list[Result]:
    """Every rule's result: overdue first, then due, then the rest in the rules' order."""
    risks = risk_factors(record, today)
    results = [evaluate(rule, record, today, risks) for rule in rules]
    order = {OVERDUE: 0, DUE: 1, SATISFIED: 2, NOT_APPLICABLE: 3}
    return sorted(results, key=lambda r: order[r.status])
