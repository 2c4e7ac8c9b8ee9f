"""The quality measures report: the patients seen in the period, judged by the measures of
clinical/preventive/measures.py, with the patient list of each measure, charts and CSV.

One audit entry names every patient whose record was read.
"""

from __future__ import annotations

from dataclasses import dataclass

from mederi.audit import services as audit
from mederi.clinical.preventive import measures
from mederi.clinical.preventive.record import read_record
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.reports.charts import bar_chart
from mederi.reports.exports import _csv, _period
from mederi.reports.selectors import Filters, _patients, _require, check_filters

MAX_PATIENTS = 2000  # patients seen in one period the report reads


@dataclass(frozen=True)
class Row:
    patient_id: str
    name: str
    mrn: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class MeasureSection:
    result: measures.MeasureResult
    rows: list[Row]


@dataclass(frozen=True)
class QualityReport:
    filters: Filters
    patients_seen: int
    sections: list[MeasureSection]
    names_shown: bool
    truncated: bool


def _patients_seen(context: Context, filters: Filters) -> list[str]:
    start, end = filters.bounds
    result = Repository(context).search("Encounter", [
        ("date", f"ge{start.isoformat()}"), ("date", f"lt{end.isoformat()}"),
        ("_count", str(MAX_PATIENTS)), ("_total", "none")], first_page_only=True)
    ids = []
    for stored in result.matches:
        reference = (stored.as_dict().get("subject") or {}).get("reference") or ""
        if reference.startswith("Patient/"):
            ids.append(reference.removeprefix("Patient/"))
    return list(dict.fromkeys(ids))


def quality_measures(context: Context, date_from, date_to, location_id: str | None = None,
                     practitioner_id: str | None = None, *, audit_action: str = "search") -> QualityReport:
    """The measures over the period's practice days. Like eligibility, they are counted for the whole
    practice: the location and provider filters are checked but do not narrow the report."""
    _require(context, "clinical.read", "quality measures")
    filters = check_filters(date_from, date_to, location_id, practitioner_id)
    patient_ids = _patients_seen(context, filters)
    shown: list[str] = []
    records = [read_record(context, p, shown) for p in patient_ids]
    results = measures.measure_all(records, filters.date_from, filters.date_to)
    names_shown = context.is_system or "demographics.read" in context.permissions
    people = _patients(context, patient_ids) if names_shown and patient_ids else {}
    sections = [MeasureSection(r, [Row(o.patient_id, *people.get(o.patient_id, ("", "")), o.outcome, o.detail)
                                   for o in r.patients]) for r in results]
    audit.record(context, audit_action, resource_type="Patient", resource_ids=list(dict.fromkeys(shown)),
                 query=f"report: quality measures {filters.described()}",
                 detail={"patients": len(patient_ids),
                         **{r.measure.id: f"{r.numerator}/{r.denominator}" for r in results}})
    return QualityReport(filters, len(patient_ids), sections, names_shown, len(patient_ids) >= MAX_PATIENTS)


def quality_csv(report: QualityReport) -> tuple[str, str]:
    """A summary row per measure, then a row per patient of each measure."""
    header = ["Measure", "Denominator", "Exclusions", "Numerator", "Rate %", "Patient", "MRN", "Patient id",
              "Outcome", "Detail"]
    rows = []
    for section in report.sections:
        r = section.result
        rows.append((r.measure.title, r.denominator, r.exclusions, r.numerator, r.rate, "", "", "", "", ""))
        rows += [(r.measure.title, "", "", "", "", row.name, row.mrn, row.patient_id, row.outcome, row.detail)
                 for row in section.rows]
    return f"quality-measures_{_period(report.filters)}.csv", _csv(header, rows)


def quality_charts(report: QualityReport):
    return [bar_chart("chart-quality", "quality measure rates",
                      [(s.result.measure.title, s.result.rate or 0,
                        f"{s.result.rate}%" if s.result.rate is not None else "no patients") for s in report.sections],
                      scale_max=100, colour="blue")]
