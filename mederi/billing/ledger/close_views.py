"""The month-end close page: the month's totals before closing it, closing it, and the months closed."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.core.errors import MederiError

from . import closing

READ = "financial.read"


def _page(request, month_text: str, error: str = "", status: int = 200):
    totals = None
    try:
        totals = closing.month_totals(month_text)
    except MederiError as problem:
        error = error or "; ".join(issue.diagnostics for issue in problem.issues)
        status = 400
    return render(request, "ledger/close.html", {
        "month": month_text, "totals": totals, "error": error, "closes": closing.closes(),
        "closed_through": closing.closed_through(), "next_month": closing.next_to_close(),
    }, status=status)


@staff_page(READ)
def month_close(request):
    if request.method != "POST":
        return _page(request, request.GET.get("month") or f"{closing.next_to_close():%Y-%m}")
    month_text = request.POST.get("month", "")
    try:
        closed = closing.close_month(context_for_request(request), month_text)
    except MederiError as problem:
        return _page(request, month_text, "; ".join(issue.diagnostics for issue in problem.issues), status=400)
    messages.success(request, f"{closing.month_label(closed.month)} is closed: nothing dated in it can be posted now.")
    return redirect("billing:ledger:close")
