"""The audit report, its CSV export, a patient's accounting of disclosures, and the emergency
access (break the glass) report.

Every page needs a signed-in person holding `audit.view`; looking at the log is itself logged
(`audit-read`), and so is taking a copy of it (`export`).
"""

from __future__ import annotations

import csv
import functools

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mederi.accounts.context import permissions_for_request
from mederi.accounts.signals import context_for
from mederi.audit import selectors
from mederi.audit import services as audit
from mederi.audit.forms import ReportFilter
from mederi.core import clock

PAGE_SIZE = 50
PERMISSION = "audit.view"

CSV_COLUMNS = ("id", "recorded", "user", "role", "action", "outcome", "patient", "resources", "purpose",
               "from", "query", "detail")


def audit_view(view):
    """Signed in, and allowed to see the audit log; anyone else gets a page that says why not."""

    @login_required
    @require_GET
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if PERMISSION not in permissions_for_request(request):
            return render(request, "audit/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _log(request, action: str, detail: dict, *, resource_type: str = "AuditEvent") -> None:
    with transaction.atomic():  # appended now, not left in the read buffer
        audit.record(context_for(request.user, request), action, resource_type=resource_type,
                     query=request.get_full_path(), detail=detail)


def _page(request, entries):
    return Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@audit_view
def report(request):
    form = ReportFilter(request.GET or None)
    if form.is_bound and not form.is_valid():
        entries = selectors.search_entries().none()
    else:
        entries = selectors.search_entries(up_to_id=selectors.last_entry_id(), **form.criteria())
    page = _page(request, entries)
    _log(request, "audit-read", {"report": "audit", "page": page.number, "rows": page.paginator.count})
    context = {"form": form, "page": page, "query": _query_without_page(request)}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "audit-results":
        return render(request, "audit/_entries.html", context)
    return render(request, "audit/report.html", context)


@audit_view
def patient_disclosures(request, patient_id: str):
    entries = selectors.patient_accesses(patient_id, up_to_id=selectors.last_entry_id())
    page = _page(request, entries)
    _log(request, "audit-read", {"report": "disclosures", "patient": patient_id, "page": page.number,
                                 "rows": page.paginator.count})
    context = {"patient_id": patient_id, "page": page, "query": ""}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "audit-results":
        return render(request, "audit/_disclosures.html", context)
    return render(request, "audit/disclosures.html", context)


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    """Text a spreadsheet shows as text: a leading =, +, - or @ would otherwise run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(entries):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries.iterator(chunk_size=1000):
        yield writer.writerow([_cell(value) for value in (
            entry.id, entry.recorded.isoformat(), entry.actor_name, entry.actor_role, entry.action, entry.outcome,
            entry.patient_id or "", " ".join(entry.references), entry.purpose, entry.remote_addr, entry.query,
            entry.detail)])


def _csv_response(entries, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_rows(entries), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@audit_view
def report_csv(request):
    form = ReportFilter(request.GET or None)
    if form.is_bound and not form.is_valid():
        entries = selectors.search_entries().none()
    else:
        entries = selectors.search_entries(up_to_id=selectors.last_entry_id(), **form.criteria())
    _log(request, "export", {"report": "audit", "rows": entries.count()})
    return _csv_response(entries, "audit-log.csv")


@audit_view
def patient_disclosures_csv(request, patient_id: str):
    entries = selectors.patient_accesses(patient_id, up_to_id=selectors.last_entry_id())
    _log(request, "export", {"report": "disclosures", "patient": patient_id, "rows": entries.count()})
    safe = "".join(c for c in patient_id if c.isalnum() or c in "-.")[:64]
    return _csv_response(entries, f"disclosures-{safe}.csv")


# -- emergency access (break the glass) -----------------------------------------------------------

EMERGENCY_CSV_COLUMNS = ("grant", "user", "patient", "reason", "started", "expires", "ended", "accesses")


def _grant_rows(grants):
    writer = csv.writer(_Echo())
    yield writer.writerow(EMERGENCY_CSV_COLUMNS)
    for grant in grants.iterator(chunk_size=1000):
        yield writer.writerow([_cell(value) for value in (
            grant.pk, grant.user.get_username(), grant.patient_id, grant.reason, grant.started.isoformat(),
            grant.expires.isoformat(), grant.ended.isoformat() if grant.ended else "", grant.accesses)])


@audit_view
def emergency_report(request):
    """Every break-the-glass grant, who held it and why, and how much was done under it."""
    from mederi.accounts import emergency

    page = _page(request, emergency.grants_with_access_counts())
    _log(request, "audit-read", {"report": "emergency", "page": page.number, "rows": page.paginator.count})
    context = {"page": page, "query": "", "now": clock.now()}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "audit-results":
        return render(request, "audit/_emergency.html", context)
    return render(request, "audit/emergency.html", context)


@audit_view
def emergency_report_csv(request):
    from mederi.accounts import emergency

    grants = emergency.grants_with_access_counts()
    _log(request, "export", {"report": "emergency", "rows": grants.count()})
    response = StreamingHttpResponse(_grant_rows(grants), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="emergency-access.csv"'
    response["Cache-Control"] = "no-store"
    return response
