"""Pages of the reports: an index with the filters, and one page per report with its tables, its
charts and a CSV download of the same figures (`?format=csv`). Thin: the form reads the filters,
the selectors check them, read, and audit; charts.py and exports.py shape what they return.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.accounts.decorators import staff_page
from mederi.accounts.permissions import all_permissions
from mederi.core.errors import Forbidden
from mederi.reports import exports, quality, selectors
from mederi.reports.charts import bar_chart
from mederi.reports.errors import ReportError
from mederi.reports.forms import FIELDS, add_report_error, filter_form
from mederi.scheduling import practice_time


@dataclass(frozen=True)
class Report:
    slug: str  # the URL name, in the namespace "reports"
    title: str
    description: str
    permission: str
    template: str
    read: Callable
    to_csv: Callable
    charts: Callable


def _rate_text(rate) -> str:
    return f"{rate}%" if rate is not None else "nothing due"


def _no_show_charts(report: selectors.NoShowReport):
    return [
        bar_chart("chart-no-show-providers", "no-show rate by provider",
                  [(r.name, r.rate, _rate_text(r.rate)) for r in report.providers], colour="red"),
        bar_chart("chart-no-show-weeks", "no-show rate by week",
                  [(f"Week of {practice_time.day_text(w.first)}", w.rate, _rate_text(w.rate)) for w in report.weeks],
                  colour="red"),
    ]


def _utilization_charts(report: selectors.UtilizationReport):
    return [bar_chart("chart-utilization", "booked share of open time by provider and location",
                      [(f"{r.name} · {r.location_name}", r.utilization,
                        f"{r.utilization}%" if r.utilization is not None else "no open time") for r in report.rows],
                      scale_max=100, colour="green")]


def _appointment_charts(report: selectors.AppointmentCounts):
    return [
        bar_chart("chart-types", "appointments by type", [(r.name, r.total, str(r.total)) for r in report.rows]),
        bar_chart("chart-statuses", "appointments by status",
                  [(label, total, str(total)) for (_, label), total in zip(report.statuses, report.status_totals)],
                  colour="purple"),
    ]


def _eligibility_charts(report: selectors.EligibilityFailures):
    return [bar_chart("chart-payers", "eligibility failures by payer",
                      [(name, count, str(count)) for name, count in report.by_payer], colour="orange")]


REPORTS = (
    Report("no-shows", "No-show rate", "Missed appointments among those whose time has passed, by provider and week.",
           "scheduling.read", "reports/no_shows.html", selectors.no_show_rate, exports.no_show_csv, _no_show_charts),
    Report("utilization", "Provider utilization", "Open time from the providers' hours, and how much of it was booked.",
           "scheduling.read", "reports/utilization.html", selectors.provider_utilization, exports.utilization_csv,
           _utilization_charts),
    Report("appointments", "Appointments by type and status", "How many appointments of each type, and how they went.",
           "scheduling.read", "reports/appointments.html", selectors.appointments_by_type_and_status,
           exports.appointments_csv, _appointment_charts),
    Report("eligibility-failures", "Eligibility failures",
           "Insurance checks that found coverage not active, were rejected, or got no usable answer.",
           "insurance.read", "reports/eligibility_failures.html", selectors.eligibility_failures,
           exports.eligibility_failures_csv, _eligibility_charts),
    Report("quality-measures", "Quality measures",
           "Diabetes HbA1c poor control, controlling high blood pressure, tobacco screening and cessation.",
           "clinical.read", "reports/quality_measures.html", quality.quality_measures, quality.quality_csv,
           quality.quality_charts),
)
BY_SLUG = {r.slug: r for r in REPORTS}


def _on_practice_clock(view):
    """Dates and times on the pages are the practice's own (templates format them)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(practice_time.zone()):
            return view(request, *args, **kwargs)

    return wrapped


def _choices() -> dict:
    from mederi.scheduling.selectors import directory_practitioners, locations

    return {"locations": locations(), "providers": directory_practitioners()}


def _links(request, form) -> list[dict]:
    """The reports this person may open, each keeping the filters as typed."""
    held = permissions_for_request(request)
    query = urlencode({name: form.data.get(name, "") for name in FIELDS if form.data.get(name)})
    return [{"report": r, "action": reverse(f"reports:{r.slug}"), "url": f"{reverse(f'reports:{r.slug}')}?{query}"}
            for r in REPORTS if r.permission in held]


@login_required
@_on_practice_clock
def index(request):
    """The filters, and a button per report the person may open."""
    form = filter_form(request.GET, **_choices())
    held = permissions_for_request(request)
    if not any(r.permission in held for r in REPORTS):
        names = all_permissions()
        return render(request, "web/forbidden.html",
                      {"missing": [f"{names['scheduling.read']}, or {names['insurance.read'].lower()}"]}, status=403)
    status = 200 if form.is_valid() else 400
    return render(request, "reports/index.html", {"form": form, "links": _links(request, form)}, status=status)


def _show(request, report: Report):
    context = context_for_request(request)
    form = filter_form(request.GET, **_choices())
    wanted = request.GET.get("format", "").strip().lower()
    found, status = None, 200
    if wanted not in ("", "html", "csv"):
        form.is_valid()
        form.add_error(None, f"A report comes as a page or as a CSV file (format=csv), not '{wanted}'.")
        status = 400
    elif form.is_valid():
        data = form.cleaned_data
        try:
            found = report.read(context, data["date_from"], data["date_to"], data["location"] or None,
                                data["provider"] or None, audit_action="export" if wanted == "csv" else "search")
        except ReportError as error:
            add_report_error(form, error)
            status = 400
        except Forbidden as error:
            return render(request, "web/forbidden.html", {"missing": [str(error)]}, status=403)
    else:
        status = 400
    if found is not None and wanted == "csv":
        filename, text = report.to_csv(found)
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    query = {name: form.data.get(name, "") for name in FIELDS if form.data.get(name)}
    return render(request, report.template, {
        "form": form, "report": report, "found": found, "links": _links(request, form),
        "charts": report.charts(found) if found is not None else [],
        "csv_url": f"{request.path}?{urlencode({**query, 'format': 'csv'})}",
        "action": reverse(f"reports:{report.slug}"),
    }, status=status)


def _page(slug: str):
    report = BY_SLUG[slug]

    @staff_page(report.permission)
    @_on_practice_clock
    def view(request):
        return _show(request, report)

    view.__name__ = view.__qualname__ = slug.replace("-", "_")
    view.__doc__ = report.description
    return view


no_shows = _page("no-shows")
utilization = _page("utilization")
appointments = _page("appointments")
eligibility_failures = _page("eligibility-failures")
quality_measures = _page("quality-measures")
