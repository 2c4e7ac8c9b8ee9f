"""Pages of prescribing: the prescribing form (drug search, the CDS cards, sign), a prescription
with its e-prescribing status and PDF, and the pharmacy directory. Views only read the request
and call the services."""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.accounts.decorators import staff_page
from mederi.clinical.drugs.selectors import search_drugs
from mederi.clinical.prescribing import delivery, pdf, pharmacies, services, sigs
from mederi.clinical.prescribing.forms import CancelForm, PharmacyForm, PrescriptionForm
from mederi.core.errors import Forbidden, Gone, InvalidRequest, MederiError, NotFound
from mederi.fhir.repository import Repository
from mederi.patients.forms import add_service_error

PRESCRIBER = ("clinical.read", "clinical.write", services.PERMISSION)
_LABELLED = re.compile(r"\*\*(.+?):\*\*\s*(.*)", re.S)


def _patient(context, patient_id: str) -> dict:
    try:
        return Repository(context).read("Patient", patient_id).as_dict()
    except (NotFound, Gone):
        raise Http404("no such patient") from None


def _card_view(card: dict, service_id: str) -> dict:
    """A CDS card as the page shows it: the detail's paragraphs with their labels (Why, What to do)."""
    paragraphs = []
    for text in card.get("detail", "").split("\n\n"):
        match = _LABELLED.match(text.strip())
        label, body = (match.group(1), match.group(2)) if match else ("", text.strip())
        paragraphs.append((label, body.strip("*").strip()))
    suggestion = (card.get("suggestions") or [{}])[0]
    return {**card, "service": service_id, "paragraphs": paragraphs, "blocking": card["indicator"] in
            services.BLOCKING, "remove_label": suggestion.get("label", "Remove this drug")}


def _pharmacy_choices(context) -> list[tuple[str, str]]:
    return [(p.id, p.label) for p in pharmacies.pharmacies(context)]


def _overrides(post) -> list[services.Override]:
    found = []
    for key, reason in post.items():
        if key.startswith("override:") and reason:
            _, service_id, card = key.split(":", 2)
            found.append(services.Override(service_id, card, reason, post.get(f"comment:{card}", "").strip()[:500]))
    return found


def _page(request, patient: dict, form: PrescriptionForm, cards=(), status=200, **extra):
    drug = None
    rxcui = form["rxcui"].value()
    if rxcui:
        from mederi.clinical.drugs.selectors import drug_by_rxcui

        drug = drug_by_rxcui(str(rxcui))
    return render(request, "clinical/prescribing/prescribe.html", {
        "patient": patient, "form": form, "cards": cards, "drug": drug, "query": request.GET.get("q", ""),
        "hits": search_drugs(request.GET["q"], 15) if len(request.GET.get("q", "").strip()) >= 2 else [],
        "can_manage_pharmacies": "directory.write" in permissions_for_request(request),
        "rules": sigs.RULES.values(), **extra}, status=status)


@staff_page(*PRESCRIBER)
def prescribe(request, patient_id: str):
    context = context_for_request(request)
    patient = _patient(context, patient_id)
    choices = _pharmacy_choices(context)
    if request.method != "POST":
        initial = {"encounter": request.GET.get("encounter", ""), "rxcui": request.GET.get("rxcui", "")}
        return _page(request, patient, PrescriptionForm(initial=initial, pharmacy_choices=choices))
    post = request.POST.copy()
    if post.get("remove"):
        service_id, _, card = post["remove"].partition(":")
        try:
            services.remove_drug(context, patient_id, service_id, card, post.get("draft_id", ""))
        except MederiError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "The drug was removed; the alert is recorded as accepted.")
        post["rxcui"], post["draft_id"] = "", ""
        kept = {k: post.get(k) for k in PrescriptionForm.base_fields if k in post}
        return _page(request, patient, PrescriptionForm(initial=kept, pharmacy_choices=choices))
    form = PrescriptionForm(post, pharmacy_choices=choices)
    if post.get("action") == "check" and post.get("rxcui"):
        form.is_valid()
        return _page(request, patient, form, _select_cards(context, patient_id, post["rxcui"], post.get("encounter")))
    if not form.is_valid():
        return _page(request, patient, form, status=400)
    encounter, draft_id = form.cleaned_data["encounter"], form.cleaned_data["draft_id"]
    try:
        if post.get("action") == "save":
            draft = services.save_draft(context, patient_id, form.prescription(), encounter, draft_id)
            messages.success(request, "Saved as a draft: it is not valid until signed.")
            return redirect("prescribing:prescription", request_id=draft["id"])
        result = services.sign_prescription(context, patient_id, form.prescription(), encounter_id=encounter,
                                            draft_id=draft_id, overrides=_overrides(post))
    except (InvalidRequest, Forbidden) as error:
        add_service_error(form, error)
        return _page(request, patient, form, status=400)
    if not result.signed:
        post["draft_id"] = result.request["id"]
        form = PrescriptionForm(post, pharmacy_choices=choices)
        form.is_valid()
        cards = [_card_view(c, services.SIGN_SERVICE) for c in result.cards]
        return _page(request, patient, form, cards, status=409, blocked=True)
    messages.success(request, "Signed." + (" It is on its way to the pharmacy." if
                                           result.request["dispenseRequest"].get("performer") else " Print it below."))
    return redirect("prescribing:prescription", request_id=result.request["id"])


def _select_cards(context, patient_id: str, rxcui: str, encounter: str | None) -> list[dict]:
    try:
        cards = services.selection_cards(context, patient_id, rxcui, encounter or "")
    except InvalidRequest:
        return []
    return [_card_view(c, services.SELECT_SERVICE) for c in cards]


@require_GET
@staff_page(*PRESCRIBER)
def drug_choices(request, patient_id: str):
    query = request.GET.get("q", "")
    hits = search_drugs(query, 15) if len(query.strip()) >= 2 else []
    return render(request, "clinical/prescribing/_drug_choices.html", {
        "hits": hits, "searched": query, "chosen": request.GET.get("chosen", "")})


@require_POST
@staff_page(*PRESCRIBER)
def check_drug(request, patient_id: str):
    """The order-select cards for the drug just chosen (htmx)."""
    context = context_for_request(request)
    _patient(context, patient_id)
    cards = _select_cards(context, patient_id, request.POST.get("rxcui", ""), request.POST.get("encounter"))
    return render(request, "clinical/prescribing/_cards.html", {"cards": cards, "checked": True})


def _request_or_404(context, request_id: str) -> dict:
    try:
        return Repository(context).read("MedicationRequest", request_id).as_dict()
    except (NotFound, Gone):
        raise Http404("no such prescription") from None


@staff_page("clinical.read")
def prescription(request, request_id: str):
    context = context_for_request(request)
    body = _request_or_404(context, request_id)
    parts = delivery.message_parts(context, body)
    return render(request, "clinical/prescribing/prescription.html", {
        "rx": body, "lines": pdf.prescription_lines(parts), "erx": delivery.status_of(body),
        "sent": delivery.messages_of(request_id), "cancel_form": CancelForm(),
        "can_cancel": body.get("status") == "active" and services.PERMISSION in permissions_for_request(request)})


@staff_page("clinical.read")
def prescription_pdf(request, request_id: str):
    context = context_for_request(request)
    _request_or_404(context, request_id)
    response = HttpResponse(pdf.prescription_pdf(context, request_id), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="prescription-{request_id}.pdf"'
    return response


@require_POST
@staff_page(*PRESCRIBER)
def cancel(request, request_id: str):
    context = context_for_request(request)
    form = CancelForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidRequest.single("Say why the prescription is cancelled.", expression="reason")
        services.cancel_prescription(context, request_id, form.cleaned_data["reason"])
    except (NotFound, Gone):
        raise Http404("no such prescription") from None
    except (InvalidRequest, Forbidden) as error:
        messages.error(request, "; ".join(i.diagnostics for i in error.issues))
    else:
        messages.success(request, "Cancelled.")
    return redirect("prescribing:prescription", request_id=request_id)


@staff_page("directory.read")
def pharmacy_directory(request):
    context = context_for_request(request)
    can_write = "directory.write" in permissions_for_request(request)
    form = PharmacyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not can_write:
            raise Http404("not allowed")
        if form.is_valid():
            try:
                saved = pharmacies.save_pharmacy(context, form.cleaned_data)
            except InvalidRequest as error:
                add_service_error(form, error)
            else:
                messages.success(request, f"{saved.name} added to the pharmacy directory.")
                return redirect("prescribing:pharmacies")
        status = 400
    return render(request, "clinical/prescribing/pharmacies.html", {
        "pharmacies": pharmacies.pharmacies(context, include_inactive=True), "form": form, "can_write": can_write},
        status=status)


@require_POST
@staff_page("directory.write")
def pharmacy_active(request, pharmacy_id: str):
    try:
        changed = pharmacies.set_active(context_for_request(request), pharmacy_id, request.POST.get("active") == "1")
    except (NotFound, Gone):
        raise Http404("no such pharmacy") from None
    messages.success(request, f"{changed.name} is now {'in use' if changed.active else 'out of use'}.")
    return redirect("prescribing:pharmacies")
