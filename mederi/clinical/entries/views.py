"""The htmx partials of the structured entries: `clinical:entries` answers GET with the list and its
form, and POST with the same partial re-rendered (errors at their fields, or the new entry listed).

The chart page includes these partials, and the visit note page embeds them with hx-get and
`?encounter=<id>`, which ties what is written to that visit. A request that is not htmx gets the
partial inside a page of its own (and is sent back to the chart after a successful change).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.accounts.decorators import staff_page
from mederi.clinical.entries import allergies, immunizations, medications, problems, social, vitals
from mederi.clinical.entries.forms import FORMS, ReconcileForm
from mederi.core.errors import Forbidden, Gone, InvalidRequest, MederiError, NotFound
from mederi.patients.forms import add_service_error


@dataclass(frozen=True)
class Kind:
    title: str
    save: Callable  # (context, patient_id, data, encounter_id) -> id
    listing: Callable  # (context, patient_id) -> rows
    actions: dict  # other POST actions: name -> (context, patient_id, data, encounter_id)


def _by_id(change):
    """An action on one listed entry, named by the posted `id`."""
    return lambda context, patient_id, data, encounter_id: change(context, patient_id, data.get("id", ""))


KINDS = {
    "vitals": Kind("Vital signs", vitals.record_vitals, vitals.latest_vitals, {}),
    "problems": Kind("Problems", problems.add_problem, problems.problem_list, {
        "resolve": _by_id(lambda c, p, i: problems.set_problem_status(c, p, i, "resolved")),
        "reactivate": _by_id(lambda c, p, i: problems.set_problem_status(c, p, i, "active"))}),
    "allergies": Kind("Allergies", allergies.record_allergy, allergies.allergy_list,
                      {"inactivate": _by_id(allergies.mark_inactive)}),
    "medications": Kind("Medications", medications.add_medication, medications.medication_list,
                        {"reconcile": medications.reconcile}),
    "immunizations": Kind("Immunizations", immunizations.record_immunization, immunizations.immunization_list, {}),
    "smoking": Kind("Smoking status", social.record_smoking_status, social.smoking_history, {}),
    "family-history": Kind("Family history", social.record_family_history, social.family_history, {}),
}
ADD_LABELS = {"vitals": "Record vital signs", "problems": "Add or resolve problems", "allergies": "Record an allergy",
              "medications": "Add a medication or reconcile", "immunizations": "Record an immunization",
              "smoking": "Record smoking status", "family-history": "Add family history"}
SAVED = {"vitals": "Vital signs recorded.", "problems": "Problem list updated.", "allergies": "Allergies updated.",
         "medications": "Medications updated.", "immunizations": "Immunization recorded.",
         "smoking": "Smoking status recorded.", "family-history": "Family history recorded."}


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def partial_context(request, patient_id: str, kind: str, *, form=None, reconcile_form=None, encounter_id: str = "",
                    saved: str = "") -> dict:
    """What a kind's partial template needs (the chart page calls this for each section it includes)."""
    context = context_for_request(request)
    rows = KINDS[kind].listing(context, patient_id)
    values = {"patient_id": patient_id, "kind": kind, "title": KINDS[kind].title, "rows": rows,
              "form": form or FORMS[kind](), "encounter_id": encounter_id, "saved": saved,
              "can_write": "clinical.write" in permissions_for_request(request), "add_label": ADD_LABELS[kind],
              "open_form": request.method == "GET"}
    if kind == "medications":
        active = [row for row in rows if row.status == "active"]
        values["reconcile_form"] = reconcile_form or ReconcileForm(active=active)
        values["last_reconciled"] = medications.last_reconciliation(context, patient_id)
    return values


def _answer(request, values: dict, status: int):
    template = f"clinical/entries/_{values['kind'].replace('-', '_')}.html"
    if _is_htmx(request):
        # htmx swaps only successful answers: the errors travel with 200, and are said at their fields.
        response = render(request, template, values)
        if values["saved"]:
            response["HX-Trigger"] = "chart-changed"
        return response
    return render(request, "clinical/entries/page.html", {**values, "partial": template}, status=status)


@staff_page("clinical.read")
@require_http_methods(["GET", "POST"])
def entries(request, patient_id: str, kind: str):
    if kind not in KINDS:
        raise Http404(f"'{kind}' is not a kind of entry: {', '.join(KINDS)}")
    encounter_id = (request.POST.get("encounter") or request.GET.get("encounter") or "").strip()
    form = reconcile_form = None
    saved, status = "", 200
    try:
        if request.method == "POST":
            if "clinical.write" not in permissions_for_request(request):
                raise Forbidden("your roles do not allow you to change the clinical record (clinical.write)")
            action = request.POST.get("action") or "add"
            if action == "add":
                form = FORMS[kind](request.POST)
                form.is_valid()
                save = KINDS[kind].save
            elif action in KINDS[kind].actions:
                save = KINDS[kind].actions[action]
            else:
                raise InvalidRequest.single(f"'{action}' is not something one can do with {kind}")
            try:
                save(context_for_request(request), patient_id, request.POST, encounter_id or None)
            except InvalidRequest as error:
                status = 400
                if action == "reconcile":
                    active = medications.medication_list(context_for_request(request), patient_id, audit=False,
                                                         active_only=True)
                    reconcile_form = ReconcileForm(request.POST, active=active)
                    reconcile_form.is_valid()
                    add_service_error(reconcile_form, error)
                else:
                    form = form or FORMS[kind]()
                    add_service_error(form, error)
            else:
                form, saved = None, SAVED[kind]
                if not _is_htmx(request):
                    return redirect("clinical:chart", patient_id=patient_id)
        values = partial_context(request, patient_id, kind, form=form, reconcile_form=reconcile_form,
                                 encounter_id=encounter_id, saved=saved)
    except (NotFound, Gone) as error:
        raise Http404(str(error)) from error
    except (Forbidden, MederiError) as error:
        code = error.status if error.status in (403, 409, 412) else 400
        return render(request, "clinical/entries/_refused.html", {"message": str(error)}, status=code)
    return _answer(request, values, status)


@staff_page("clinical.read")
@require_GET
def suggestions(request, kind: str):
    """Options for a search-as-you-type box: problems, substances (allergies) or drugs."""
    typed = request.GET.get("q") or next((v for k, v in request.GET.items() if k != "q"), "")
    if kind == "problems":
        options = [(p.label, f"ICD-10-CM {p.icd10} · SNOMED {p.snomed}") for p in problems.suggestions(typed)]
    elif kind == "allergies":
        options = [(s.name, s.category) for s in allergies.suggestions(typed)]
    elif kind == "medications":
        options = [(d.name, f"RxCUI {d.rxcui}") for d in medications.suggestions(typed)]
    else:
        raise Http404("suggestions are offered for problems, allergies and medications")
    return render(request, "clinical/entries/_options.html", {"options": options})
