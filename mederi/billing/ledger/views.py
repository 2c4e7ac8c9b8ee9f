"""Ledger pages: A/R aging by payer or patient, the day sheet, and a patient's account with refunds and write-offs."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.billing import practice
from mederi.core.errors import Forbidden, MederiError
from mederi.reports import exports
from mederi.reports.charts import bar_chart

from . import selectors, services
from .forms import RefundForm, WriteOffForm

READ = "financial.read"
POST = "payments.post"


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(exports._csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else practice.today()
    except ValueError:
        return None


@staff_page(READ)
def aging(request):
    by = "patient" if request.GET.get("by") == "patient" else "payer"
    as_of = _day(request.GET.get("as_of"))
    error = None
    if as_of is None:
        error, as_of = "Write the date as YYYY-MM-DD, e.g. 2026-03-31; showing today instead.", practice.today()
    rows = selectors.aging(by, as_of)
    names = selectors.party_names(context_for_request(request), "Patient" if by == "patient" else "Organization",
                                  [row.party_id for row in rows])
    for row in rows:
        row.name = names.get(row.party_id) or row.name or row.party_id
    totals = selectors.aging_totals(rows)
    labels = [label for label, _, _ in selectors.BUCKETS]
    if request.GET.get("format") == "csv" and error is None:
        return _csv(f"ar-aging-by-{by}-{as_of}.csv", [by, *labels, "total"],
                    [(row.name, *row.buckets, row.total) for row in rows])
    chart = bar_chart("chart-aging", f"receivables by age on {as_of}",
                      [(label, total, f"{total:,.2f}") for label, total in zip(labels, totals, strict=True)],
                      colour="blue")
    return render(request, "ledger/aging.html", {"by": by, "as_of": as_of, "rows": rows, "totals": totals,
                                                 "grand_total": sum(totals), "labels": labels, "chart": chart,
                                                 "error": error}, status=400 if error else 200)


@staff_page(READ)
def day_sheet(request):
    day = _day(request.GET.get("day"))
    error = None
    if day is None:
        error, day = "Write the day as YYYY-MM-DD, e.g. 2026-03-02; showing today instead.", practice.today()
    sheet = selectors.day_sheet(day)
    if request.GET.get("format") == "csv" and error is None:
        return _csv(f"day-sheet-{day}.csv", ["kind", "transactions", "change to receivables"], sheet.rows)
    return render(request, "ledger/day_sheet.html", {"sheet": sheet, "error": error}, status=400 if error else 200)


@staff_page(READ, "demographics.read")
def patient_account(request, patient_id: str):
    context = context_for_request(request)
    refund_form, write_off_form, status = RefundForm(prefix="refund"), WriteOffForm(prefix="write_off"), 200
    if request.method == "POST":
        action = request.POST.get("action")
        form = RefundForm(request.POST, prefix="refund") if action == "refund" else WriteOffForm(
            request.POST, prefix="write_off")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if action == "refund":
                    services.refund(context, patient_id, data["amount"], data["method"], data["note"])
                else:
                    services.write_off(context, patient_id, data["amount"], data["reason"], data["note"])
                messages.success(request, "Posted to the patient's account.")
                return redirect("billing:ledger:patient", patient_id=patient_id)
            except Forbidden:
                raise
            except MederiError as error:
                for issue in error.issues:
                    field = issue.expression if issue.expression in form.fields else None
                    form.add_error(field, issue.diagnostics)
        status = 400
        if action == "refund":
            refund_form = form
        else:
            write_off_form = form
    names = selectors.party_names(context, "Patient", [patient_id])
    key = services.patient_account(patient_id)
    return render(request, "ledger/patient_account.html", {
        "patient_id": patient_id, "name": names.get(patient_id, patient_id), "lines": selectors.account_lines(key),
        "balance": selectors.balance_of(key), "refund_form": refund_form, "write_off_form": write_off_form,
        "can_post": context.is_system or POST in context.permissions,
    }, status=status)
