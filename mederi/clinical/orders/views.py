"""The lab order pages: the form (from the chart, or from a visit with ?encounter=) and the order
afterwards with what became of it. Thin: interop's place_lab_order checks, writes and queues."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import forbidden_page, staff_page
from mederi.audit import services as audit
from mederi.clinical.entries import common
from mederi.clinical.orders.forms import LabOrderForm
from mederi.core.errors import Forbidden, Gone, MederiError, NotFound
from mederi.fhir.repository import Repository
from mederi.interop import orders as lab_orders
from mederi.interop.models import OutboundOrder
from mederi.interop.selectors import active_labs


def _patient_name(context, patient_id: str) -> str:
    from mederi.patients.selectors import hit_of

    try:
        return hit_of(Repository(context).read("Patient", patient_id).as_dict()).display
    except (NotFound, Gone) as error:
        raise Http404(str(error)) from error


@staff_page("clinical.write", "orders.sign")
def new_lab_order(request, patient_id: str):
    context = context_for_request(request)
    try:
        name = _patient_name(context, patient_id)
    except Forbidden as error:
        return forbidden_page(request, error)
    encounter_id = (request.POST.get("encounter") or request.GET.get("encounter") or "").strip()
    labs = active_labs()
    form = LabOrderForm(request.POST or None, labs=labs)
    status = 200
    if request.method == "POST":
        errors = common.FieldErrors()
        common.encounter_reference(Repository(context), patient_id, encounter_id, errors)
        if form.is_valid() and not errors:
            data = form.cleaned_data
            try:
                order = lab_orders.place_lab_order(context, patient_id, data["tests"], data["lab"],
                                                   priority=data["priority"], note=data["note"],
                                                   encounter_id=encounter_id)
            except Forbidden as error:
                return forbidden_page(request, error)
            except MederiError as error:
                form.add_service_error(error)
            else:
                return redirect(reverse("clinical:lab-order", args=[patient_id, order.pk]))
        for issue in errors.issues:
            form.add_error(None, issue.diagnostics)
        status = 400
    return render(request, "clinical/orders/new_lab_order.html", {
        "form": form, "patient_id": patient_id, "patient_name": name, "encounter_id": encounter_id,
        "no_labs": not labs}, status=status)


@staff_page("clinical.read")
def lab_order(request, patient_id: str, order_id: int):
    context = context_for_request(request)
    order = OutboundOrder.objects.select_related("lab").filter(pk=order_id, patient_id=patient_id).first()
    if order is None:
        raise Http404("there is no such lab order for this patient")
    repo = Repository(context)
    try:
        name = _patient_name(context, patient_id)
        requests = [repo.read("ServiceRequest", i).as_dict() for i in order.service_request_ids]
    except Forbidden as error:
        return forbidden_page(request, error)
    audit.record(context, "read", patient_id=patient_id, resource_type="ServiceRequest",
                 resource_ids=[f"ServiceRequest/{r['id']}" for r in requests], query=f"ui: lab order {order.pk}")
    rows = [{"id": r["id"], "test": common.words_of(r.get("code")), "status": r.get("status", ""),
             "priority": r.get("priority", ""), "placer": (r.get("identifier") or [{}])[0].get("value", ""),
             "note": " ".join(n.get("text", "") for n in r.get("note") or ()),
             "encounter": (r.get("encounter") or {}).get("reference", "")} for r in requests]
    visits = {r["encounter"].removeprefix("Encounter/") for r in rows if r["encounter"].startswith("Encounter/")}
    return render(request, "clinical/orders/lab_order.html", {
        "order": order, "rows": rows, "patient_id": patient_id, "patient_name": name,
        "encounter_id": next(iter(visits)) if len(visits) == 1 else ""})
