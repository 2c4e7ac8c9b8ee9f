"""Billing pages: the payer directory and the eligibility partial shown on the patient page."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.billing import selectors, services
from mederi.billing.forms import PayerForm
from mederi.core.errors import Forbidden, Gone, MederiError, NotFound
from mederi.fhir.repository import Repository

CHECK_PERMISSIONS = ("insurance.write", "demographics.read", "directory.read")


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@staff_page("directory.read")
def payer_list(request):
    context = context_for_request(request)
    return render(request, "billing/payers.html", {
        "payers": selectors.payers(context),
        "can_edit": "directory.write" in context.permissions,
    })


def _payer_form_page(request, form: PayerForm, organization_id: str | None, status: int = 200):
    return render(request, "billing/payer_form.html", {"form": form, "organization_id": organization_id},
                  status=status)


def _save(request, form: PayerForm, organization_id: str | None):
    context = context_for_request(request)
    try:
        saved_id = services.save_payer(context, form.details(), form.routing(), organization_id=organization_id)
    except Forbidden:
        raise
    except MederiError as error:
        form.add_service_error(error)
        return _payer_form_page(request, form, organization_id, status=400)
    messages.success(request, f"Saved {form.cleaned_data['name']}.")
    return redirect(f"{reverse('billing:payers')}#payer-{saved_id}")


@staff_page("directory.write")
def payer_new(request):
    repository = Repository(context_for_request(request))
    if request.method == "POST":
        form = PayerForm(request.POST, repository=repository)
        if form.is_valid():
            return _save(request, form, None)
        return _payer_form_page(request, form, None, status=400)
    return _payer_form_page(request, PayerForm(repository=repository), None)


@staff_page("directory.write")
def payer_edit(request, organization_id: str):
    context = context_for_request(request)
    try:
        details, connection = selectors.payer(context, organization_id)
    except (NotFound, Gone):
        raise Http404("no such payer") from None
    repository = Repository(context)
    if request.method == "POST":
        form = PayerForm(request.POST, repository=repository, organization_id=organization_id, existing=connection)
        if form.is_valid():
            return _save(request, form, organization_id)
        return _payer_form_page(request, form, organization_id, status=400)
    form = PayerForm(initial=PayerForm.initial_for(details, connection), repository=repository,
                     organization_id=organization_id, existing=connection)
    return _payer_form_page(request, form, organization_id)


@staff_page("insurance.read")
def eligibility(request, coverage_id: str):
    """GET: the newest answer for the coverage. POST: check now, then show the answer (htmx swaps it in)."""
    context = context_for_request(request)
    can_check = all(code in context.permissions for code in CHECK_PERMISSIONS)
    summary, error, status = None, "", 200
    if request.method == "POST":
        if not can_check:
            error, status = "Your roles do not allow running eligibility checks.", 403
        else:
            try:
                summary = services.check_eligibility(context, coverage_id, service_types=services.OFFICE_VISIT_CHECK)
            except services.EligibilityError as refusal:
                error, status = refusal.message, 200  # shown in the partial: something at the desk can fix it
            except NotFound:
                raise Http404("no such coverage") from None
            except Forbidden as refusal:
                error, status = str(refusal), 403
    if summary is None:
        summary = selectors.latest_eligibility([coverage_id], context).get(coverage_id)
    page = "billing/_eligibility.html" if _is_htmx(request) else "billing/eligibility_page.html"
    return render(request, page, {"coverage_id": coverage_id, "summary": summary, "error": error,
                                  "can_check": can_check}, status=status)
