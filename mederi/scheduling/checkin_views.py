"""The check-in page (routes in mederi/urls.py under /schedule/checkin/): thin, the work is in checkin.py."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.billing.models import PatientPayment
from mederi.core.errors import Forbidden, MederiError
from mederi.scheduling import checkin
from mederi.scheduling.views import _refused, scheduling_page


def _page(request, appointment_id: str, *, problems: dict | None = None, form: dict | None = None, status=200):
    try:
        state = checkin.check_in_page(context_for_request(request), appointment_id)
    except MederiError as error:
        if error.status == 404:
            raise Http404(str(error)) from error
        return _refused(request, error)
    return render(request, "scheduling/checkin.html", {
        "state": state, "problems": problems or {}, "form": form or {}, "methods": PatientPayment.METHODS,
        "may_collect": "payments.collect" in permissions_for_request(request),
    }, status=status)


def _problems(error: MederiError) -> dict:
    return {issue.expression or "form": issue.diagnostics for issue in error.issues}


@scheduling_page("scheduling.read", "demographics.read")
@require_http_methods(["GET"])
def check_in(request, appointment_id: str):
    return _page(request, appointment_id)


@scheduling_page("scheduling.write", "payments.collect")
@require_POST
def take_copay(request, appointment_id: str):
    form = {key: request.POST.get(key, "") for key in ("amount", "method", "reference")}
    try:
        payment = checkin.take_copay(context_for_request(request), appointment_id, form["amount"], form["method"],
                                     form["reference"])
    except Forbidden as error:
        return _refused(request, error)
    except MederiError as error:
        return _page(request, appointment_id, problems=_problems(error), form=form, status=400)
    messages.success(request, f"Copay of ${payment.amount} taken ({payment.get_method_display().lower()}), "
                              f"receipt {payment.receipt_number}.")
    return redirect("checkin", appointment_id=appointment_id)


@scheduling_page("scheduling.write")
@require_POST
def complete(request, appointment_id: str):
    try:
        checkin.complete_check_in(context_for_request(request), appointment_id,
                                  confirmed=request.POST.get("confirmed") == "yes")
    except Forbidden as error:
        return _refused(request, error)
    except MederiError as error:
        return _page(request, appointment_id, problems=_problems(error), status=409 if error.status == 409 else 400)
    messages.success(request, "Checked in: the visit is in the clinician's queue.")
    return redirect("checkin", appointment_id=appointment_id)
