"""The emergency access page: break the glass for one patient, see and end the grants in force."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from mederi.accounts import emergency
from mederi.accounts.signals import remote_addr
from mederi.core.errors import Forbidden, MederiError, NotFound

TEMPLATE = "accounts/emergency_access.html"


class EmergencyAccessForm(forms.Form):
    patient = forms.CharField(label="Patient id", max_length=72,
                              help_text="The id of the patient's record, e.g. the part after Patient/.")
    reason = forms.CharField(label="Reason for emergency access", max_length=emergency.MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=f"Why you need this record now; at least {emergency.MIN_REASON} characters.")


def _next_url(request) -> str:
    """Where to go once access is granted: a page of this site the form came from, if any."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return ""


def _page(request, form, status: int = 200):
    context = {"form": form, "grants": emergency.active_grants(request.user), "minutes": emergency.grant_minutes(),
               "next": _next_url(request)}
    return render(request, TEMPLATE, context, status=status)


def _refused(request):
    return render(request, TEMPLATE, {"refused": True}, status=403)


def _open(request):
    form = EmergencyAccessForm(request.POST)
    if not form.is_valid():
        if not emergency.may_break_glass(request.user):
            try:  # the service logs the refused attempt
                emergency.break_glass(request.user, request.POST.get("patient", ""), request.POST.get("reason", ""),
                                      remote_addr(request))
            except Forbidden:
                return _refused(request)
        return _page(request, form, 400)
    try:
        grant = emergency.break_glass(request.user, form.cleaned_data["patient"], form.cleaned_data["reason"],
                                      remote_addr(request))
    except Forbidden:
        return _refused(request)
    except MederiError as error:
        for issue in error.issues:
            field = issue.expression if issue.expression in form.fields else (
                "patient" if isinstance(error, NotFound) else None)
            form.add_error(field, issue.diagnostics[:1].upper() + issue.diagnostics[1:] + ".")
        return _page(request, form, 404 if isinstance(error, NotFound) else 400)
    messages.warning(request, f"Emergency access to patient {grant.patient_id} is open until "
                              f"{grant.expires:%H:%M} UTC. Everything you open in this record is logged and reviewed.")
    return redirect(_next_url(request) or "accounts:emergency_access")


def _end(request):
    try:
        grant = emergency.end_emergency_access(request.user, request.POST.get("grant"), remote_addr(request))
    except MederiError as error:
        messages.error(request, str(error)[:1].upper() + str(error)[1:] + ".")
    else:
        messages.info(request, f"Emergency access to patient {grant.patient_id} has ended.")
    return redirect("accounts:emergency_access")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def emergency_access(request):
    if request.method == "POST":
        return _end(request) if request.POST.get("action") == "end" else _open(request)
    if not emergency.may_break_glass(request.user):
        return _refused(request)
    initial = {"patient": request.GET.get("patient", "").strip()[:72]}
    return _page(request, EmergencyAccessForm(initial=initial))
