"""Quality measures over a period, in the manner of the CMS electronic clinical quality measures:

- CMS122-style diabetes HbA1c poor control (> 9%): an inverse measure, lower is better;
- CMS165-style controlling high blood pressure (< 140/90);
- CMS138-style tobacco screening and cessation.

The initial population is the patients with a visit (Encounter) in the period; each measure
narrows it by age on the period's last day and by diagnosis. Exclusions are the simple ones the
record holds (palliative or hospice care; for blood pressure also end-stage renal disease and
pregnancy). Pure functions over `PatientRecord`s: the reports app reads and audits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from mederi.clinical.preventive.engine import add_months
from mederi.clinical.preventive.record import PatientRecord

POOR_CONTROL = Decimal("9")
SYSTOLIC_LIMIT, DIASTOLIC_LIMIT = Decimal("140"), Decimal("90")
MET, NOT_MET, EXCLUDED = "met", "not met", "excluded"


@dataclass(frozen=True)
class Judged:
    outcome: str  # MET (in the numerator), NOT_MET, EXCLUDED
    detail: str


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    description: str
    inverse: bool  # a lower rate is better
    ages: tuple[int, int | None]
    judge: Callable[[PatientRecord, date, date], Judged | None]  # None: not in the denominator


def _excluded(record: PatientRecord, end: date, *sets: str) -> str:
    for name in ("palliative", *sets):
        found = record.has_condition(name, until=end)
        if found:
            return found.label
    return ""


def _hba1c(record: PatientRecord, start: date, end: date) -> Judged | None:
    if not record.has_condition("diabetes", until=end):
        return None
    why = _excluded(record, end)
    if why:
        return Judged(EXCLUDED, why)
    latest = record.latest("hba1c", since=start, until=end)
    if latest is None or latest.value is None:
        return Judged(MET, "No HbA1c in the period.")
    text = f"HbA1c {latest.value}% on {latest.on.isoformat()}"
    return Judged(MET if latest.value > POOR_CONTROL else NOT_MET, text)


def _blood_pressure(record: PatientRecord, start: date, end: date) -> Judged | None:
    if not record.has_condition("hypertension", until=add_months(start, 6)):
        return None
    why = _excluded(record, end, "end-stage-renal", "pregnancy")
    if why:
        return Judged(EXCLUDED, why)
    readings = [f for f in record.of("blood-pressure", since=start, until=end)
                if f.systolic is not None and f.diastolic is not None]
    if not readings:
        return Judged(NOT_MET, "No blood pressure in the period.")
    latest = readings[0]
    text = f"{latest.systolic}/{latest.diastolic} mmHg on {latest.on.isoformat()}"
    controlled = latest.systolic < SYSTOLIC_LIMIT and latest.diastolic < DIASTOLIC_LIMIT
    return Judged(MET if controlled else NOT_MET, text)


def _tobacco(record: PatientRecord, start: date, end: date) -> Judged | None:
    why = _excluded(record, end)
    if why:
        return Judged(EXCLUDED, why)
    screened = record.latest("smoking-status", since=start, until=end)
    if screened is None:
        return Judged(NOT_MET, "Tobacco use not asked in the period.")
    if "current-smoker" not in screened.value_sets:
        return Judged(MET, f"Screened on {screened.on.isoformat()}: not a tobacco user.")
    helped = record.latest("tobacco-cessation", since=start, until=end)
    if helped is None:
        return Judged(NOT_MET, f"Tobacco user (screened {screened.on.isoformat()}), no cessation intervention.")
    return Judged(MET, f"Tobacco user; {helped.label} on {helped.on.isoformat()}.")


MEASURES: tuple[Measure, ...] = (
    Measure("hba1c-poor-control", "Diabetes: HbA1c poor control (> 9%)",
            "Patients 18–75 with diabetes whose most recent HbA1c in the period is over 9%, or who had none. "
            "Lower is better (CMS122-style).", True, (18, 75), _hba1c),
    Measure("controlling-blood-pressure", "Controlling high blood pressure",
            "Patients 18–85 with hypertension whose most recent blood pressure in the period is under 140/90 "
            "(CMS165-style).", False, (18, 85), _blood_pressure),
    Measure("tobacco-screening-cessation", "Tobacco use: screening and cessation intervention",
            "Patients 18 and older asked about tobacco use in the period and, if they use tobacco, given a "
            "cessation intervention (CMS138-style).", False, (18, None), _tobacco),
)


@dataclass(frozen=True)
class PatientOutcome:
    patient_id: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class MeasureResult:
    measure: Measure
    denominator: int  # eligible patients, exclusions removed
    exclusions: int
    numerator: int
    patients: list[PatientOutcome]

    @property
    def rate(self) -> Decimal | None:
        if not self.denominator:
            return None
        return (Decimal(100) * self.numerator / self.denominator).quantize(Decimal("0.1"), ROUND_HALF_UP)


def measure_all(records: list[PatientRecord], start: date, end: date, measures=MEASURES) -> list[MeasureResult]:
    results = []
    for measure in measures:
        low, high = measure.ages
        outcomes = []
        for record in records:
            age = record.age_on(end)
            if age is None or age < low or (high is not None and age > high):
                continue
            judged = measure.judge(record, start, end)
            if judged is not None:
                outcomes.append(PatientOutcome(record.patient_id, judged.outcome, judged.detail))
        excluded = sum(1 for o in outcomes if o.outcome == EXCLUDED)
        met = sum(1 for o in outcomes if o.outcome == MET)
        results.append(MeasureResult(measure, len(outcomes) - excluded, excluded, met, outcomes))
    return results
