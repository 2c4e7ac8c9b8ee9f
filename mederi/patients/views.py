"""Pages of registration: search, register, the patient page, edit, merge. Thin: services write,
selectors read (and audit), forms check."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.accounts.decorators import forbidden_page, staff_page
from mederi.core import systems
from mederi.core.errors import Forbidden, Gone, MederiError, NotFound
from mederi.fhir.repository import Repository
from mederi.patients import selectors, services
from mederi.patients.forms import MergeForm, PatientDetailsForm, RegistrationForm, add_service_error


def _forbidden(request, error: MederiError):
    return forbidden_page(request, error)


def _chart_or_404(request, patient_id: str, **options):
    try:
        return selectors.patient_chart(context_for_request(request), patient_id, **options)
    except (NotFound, Gone) as error:
        raise Http404(str(error)) from error


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@staff_page("demographics.read")
def search_page(request):
    """One box: name, date of birth, phone, MRN or member id; results update as one types (htmx)."""
    query = request.GET.get("q", "").strip()
    hits = selectors.typeahead(context_for_request(request), query) if query else []
    context = {"query": query, "hits": hits, "too_short": 0 < len(query) < selectors.TYPEAHEAD_MIN_LENGTH}
    if _is_htmx(request):
        return render(request, "patients/_results.html", context)
    return render(request, "patients/search.html", context)


def _payers(request):
    if "directory.read" not in permissions_for_request(request):
        return []
    return selectors.payers(context_for_request(request))


@staff_page("demographics.write")
@require_http_methods(["GET", "POST"])
def register(request):
    """The registration form: patient, contacts, guarantor, insurance and consents in one save."""
    payers = _payers(request)
    context = context_for_request(request)
    matches = []
    can_insure = "insurance.write" in permissions_for_request(request)
    if request.method == "POST":
        form = RegistrationForm(request.POST, payers=payers, with_coverage=can_insure)
        if form.is_valid():
            try:
                patient_id = services.register_patient(context, form.cleaned_data)
            except services.PossibleDuplicate as error:
                matches = error.matches
                add_service_error(form, error)
            except MederiError as error:  # invalid, forbidden, or changed meanwhile: said at the field
                add_service_error(form, error)
            else:
                messages.success(request, "The patient is registered.")
                return redirect("patients:detail", patient_id=patient_id)
    else:
        form = RegistrationForm(payers=payers, with_coverage=can_insure,
                                initial={"phone_use": "mobile", "guarantor": "self",
                                         "primary_subscriber_relationship": "self",
                                         "secondary_subscriber_relationship": "self"})
    confirmed = request.POST.getlist("distinct_from") if request.method == "POST" else []
    status = 400 if request.method == "POST" else 200
    return render(request, "patients/register.html", {
        "form": form, "matches": matches, "confirmed": confirmed, "can_insure": can_insure}, status=status)


@staff_page("demographics.write")
@require_POST
def duplicate_check(request):
    """The 'possible match' prompt of the registration form, redrawn as its fields change (htmx)."""
    data = {key: request.POST.get(key, "") for key in ("family", "given", "birth_date", "phone", "address_line",
                                                       "postal_code")}
    matches = selectors.possible_duplicates(context_for_request(request), data)
    return render(request, "patients/_duplicates.html",
                  {"matches": matches, "confirmed": request.POST.getlist("distinct_from")})


@staff_page("demographics.read")
def detail(request, patient_id: str):
    """The patient page: demographics, contacts, coverages (with eligibility) and appointments."""
    try:
        chart = _chart_or_404(request, patient_id)
    except Forbidden as error:
        return _forbidden(request, error)
    held = permissions_for_request(request)
    return render(request, "patients/detail.html", {
        "chart": chart, "can_edit": "demographics.write" in held,
        "can_merge": {"demographics.write", "demographics.delete"} <= held,
        "sees_insurance": "insurance.read" in held, "sees_schedule": "scheduling.read" in held})


@staff_page("demographics.write")
@require_http_methods(["GET", "POST"])
def edit(request, patient_id: str):
    """Change demographics, the emergency contact and the insurance of a registered patient."""
    try:
        chart = _chart_or_404(request, patient_id, audit_as="ui: edit patient")
    except Forbidden as error:
        return _forbidden(request, error)
    payers = _payers(request)
    can_insure = "insurance.write" in permissions_for_request(request)
    if request.method == "POST":
        form = PatientDetailsForm(request.POST, payers=payers, with_coverage=can_insure)
        version = request.POST.get("version", "")
        if form.is_valid():
            try:
                services.update_patient(context_for_request(request), patient_id, form.cleaned_data,
                                        version=int(version) if version.isdigit() else None,
                                        with_coverage=can_insure)
            except MederiError as error:
                add_service_error(form, error)
            else:
                messages.success(request, "The patient's details are saved.")
                return redirect("patients:detail", patient_id=patient_id)
        status = 400
    else:
        form = PatientDetailsForm(initial=chart.form_fields(), payers=payers, with_coverage=can_insure)
        version, status = chart.version, 200
    return render(request, "patients/edit.html", {
        "form": form, "chart": chart, "version": version, "can_insure": can_insure}, status=status)


def _resolve_patient(request, text: str) -> str | None:
    """A patient id from what was typed: the id itself or an MRN."""
    text = text.strip()
    repo = Repository(context_for_request(request))
    found = repo.search("Patient", [("identifier", f"{systems.mrn_system()}|{text}"), ("_count", "2")]).matches
    if len(found) == 1:
        return found[0].logical_id
    found = repo.search("Patient", [("_id", text), ("_count", "1")]).matches
    return found[0].logical_id if found else None


@staff_page("demographics.write", "demographics.delete")
@require_http_methods(["GET", "POST"])
def merge(request):
    """Merge a duplicate chart into the one to keep: choose both, see them side by side, confirm."""
    preview = None
    source = request.POST if request.method == "POST" else request.GET
    form = MergeForm(source if "survivor" in source else None)
    if form.is_bound and form.is_valid():
        ids = {}
        for name in ("survivor", "duplicate"):
            ids[name] = _resolve_patient(request, form.cleaned_data[name])
            if ids[name] is None:
                form.add_error(name, f"No patient has the id or MRN '{form.cleaned_data[name]}'.")
        if not form.errors and ids["survivor"] == ids["duplicate"]:
            form.add_error("duplicate", "These are the same chart: choose two different patients.")
        if not form.errors:
            context = context_for_request(request)
            try:
                if request.method == "POST" and request.POST.get("confirm") == "merge":
                    result = services.merge_patients(context, ids["survivor"], ids["duplicate"])
                    messages.success(request, f"Merged: {len(result.moved)} records moved from the duplicate "
                                              "onto this chart. The duplicate is kept, inactive, for its history.")
                    return redirect("patients:detail", patient_id=result.survivor_id)
                services.check_merge(context, ids["survivor"], ids["duplicate"])
                preview = selectors.merge_preview(context, ids["survivor"], ids["duplicate"])
            except MederiError as error:
                add_service_error(form, error)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "patients/merge.html", {"form": form, "preview": preview,
                                                   "search_url": reverse("patients:search")}, status=status)
