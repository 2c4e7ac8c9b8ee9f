"""The reports as CSV: a header row, then the figures the page shows, one row per table row.

Minutes are whole numbers, rates are percentages with one decimal and no % sign (a spreadsheet
reads them as numbers), an empty cell means "nothing to divide by". Text that a spreadsheet
would run as a formula (a name or a payer's message starting with =, +, - or @) is written with
a leading apostrophe.
"""

from __future__ import annotations

import csv
import io

from mederi.reports.selectors import AppointmentCounts, EligibilityFailures, NoShowReport, UtilizationReport

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _csv(header: list[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _period(filters) -> str:
    return f"{filters.date_from.isoformat()}_{filters.date_to.isoformat()}"


def no_show_csv(report: NoShowReport) -> tuple[str, str]:
    """(file name, CSV text): a row per provider, the total, then a row per week."""
    header = ["Breakdown", "Provider", "Week from", "Week to", "Appointments due", "No-shows", "Not marked",
              "No-show rate %"]
    rows = [("Provider", r.name, "", "", r.due, r.no_shows, r.not_marked, r.rate) for r in report.providers]
    total = report.total
    rows.append(("All providers", "", "", "", total.due, total.no_shows, total.not_marked, total.rate))
    rows += [("Week", "", w.first.isoformat(), w.last.isoformat(), w.due, w.no_shows, "", w.rate) for w in report.weeks]
    return f"no-show-rate_{_period(report.filters)}.csv", _csv(header, rows)


def utilization_csv(report: UtilizationReport) -> tuple[str, str]:
    header = ["Provider", "Location", "Open minutes", "Booked minutes", "Appointments", "Utilization %"]
    rows = [(r.name, r.location_name, r.open_minutes, r.booked_minutes, r.appointments, r.utilization)
            for r in report.rows]
    total = report.total
    rows.append(("All providers", "", total.open_minutes, total.booked_minutes, total.appointments, total.utilization))
    return f"provider-utilization_{_period(report.filters)}.csv", _csv(header, rows)


def appointments_csv(report: AppointmentCounts) -> tuple[str, str]:
    header = ["Appointment type", *[label for _, label in report.statuses], "Total"]
    rows = [(r.name, *r.counts, r.total) for r in report.rows]
    rows.append(("All types", *report.status_totals, report.total))
    return f"appointments-by-type-and-status_{_period(report.filters)}.csv", _csv(header, rows)


def eligibility_failures_csv(report: EligibilityFailures) -> tuple[str, str]:
    header = ["Checked at", "Date of service", "Patient", "MRN", "Patient id", "Payer", "Result", "Reason"]
    rows = [(r.checked_text, r.service_date.isoformat() if r.service_date else "", r.patient_name, r.mrn, r.patient_id,
             r.payer_name, r.result, r.reason) for r in report.rows]
    return f"eligibility-failures_{_period(report.filters)}.csv", _csv(header, rows)
