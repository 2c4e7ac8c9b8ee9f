"""The visit page (start a visit, write its note from a template, sign), addenda and co-signature."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.clinical.notes import catalogue, encounters, selectors, services
from mederi.core.errors import MederiError
from mederi.fhir import questionnaires

ENTRY_KINDS = (("vitals", "Vital signs"), ("problems", "Problems"), ("allergies", "Allergies"),
               ("medications", "Medications and reconciliation"), ("immunizations", "Immunizations"),
               ("smoking", "Smoking status"), ("family-history", "Family history"))


def _message(problem: MederiError) -> str:
    return "; ".join(issue.diagnostics for issue in problem.issues) or str(problem)


@staff_page("clinical.write", "scheduling.read")
@require_POST
def start_visit(request, appointment_id):
    try:
        visit = encounters.start_visit(context_for_request(request), appointment_id)
    except MederiError as problem:
        return render(request, "clinical/notes/problem.html", {"message": _message(problem)}, status=problem.status)
    return redirect("clinical:visit", encounter_id=visit.encounter_id)


def _entry_panels(patient_id: str, encounter_id: str) -> list[tuple[str, str, str]]:
    """(kind, title, url or "") of each structured-entry panel embedded in the note page."""
    panels = []
    for kind, title in ENTRY_KINDS:
        try:
            url = reverse("clinical:entries", kwargs={"patient_id": patient_id, "kind": kind})
            panels.append((kind, title, f"{url}?encounter={encounter_id}"))
        except NoReverseMatch:
            panels.append((kind, title, ""))
    return panels


def _visit_page(request, encounter_id, *, filled=None, template=None, error="", status=200):
    context = context_for_request(request)
    note = selectors.visit_note(context, encounter_id)
    templates = catalogue.active_templates(context)
    if template is None and note.response is not None:
        template = catalogue.by_canonical(context, note.response["questionnaire"])
    if template is None and request.GET.get("template"):
        template = catalogue.by_id(context, request.GET["template"])
    fields = summary = None
    if template is not None and not note.locked:
        items = template.items()
        if filled is None:
            filled = questionnaires.filled_from_answers(items, selectors.responses_answers(note.response))
            for link_id, answers in filled.answers.items():
                filled.typed.setdefault(link_id, services.answer_display(answers))
        fields = questionnaires.fields(items, filled)
        summary = questionnaires.error_summary(fields)
    return render(request, "clinical/notes/visit.html", {
        "note": note, "encounter_id": encounter_id, "templates": templates, "template": template,
        "fields": fields, "summary": summary, "error": error,
        "panels": _entry_panels(note.patient_id, encounter_id) if not note.locked else [],
        "signers": selectors.signers(note.composition) if note.composition else [],
        "addenda": [(a, selectors.signers(a)) for a in note.addenda],
        "can_sign": "notes.sign" in context.permissions,
    }, status=status)


@staff_page("clinical.read")
def visit(request, encounter_id):
    if request.method != "POST":
        return _visit_page(request, encounter_id)
    context = context_for_request(request)
    template_id = request.POST.get("template") or None
    try:
        if request.POST.get("action") == "sign":
            services.sign_note(context, encounter_id, request.POST, template_id=template_id)
        else:
            services.save_draft(context, encounter_id, request.POST, template_id=template_id)
    except services.NoteInvalid as invalid:
        return _visit_page(request, encounter_id, filled=invalid.filled, template=invalid.template,
                           error="The note was not saved: please check the answers marked below.", status=400)
    except MederiError as problem:
        return _visit_page(request, encounter_id, error=_message(problem), status=problem.status)
    return redirect("clinical:visit", encounter_id=encounter_id)


@staff_page("clinical.write")
@require_POST
def autosave(request, encounter_id):
    """The draft kept while the clinician types (htmx); answers a short status line."""
    try:
        services.save_draft(context_for_request(request), encounter_id, request.POST,
                            template_id=request.POST.get("template") or None)
    except services.NoteInvalid as invalid:
        return render(request, "clinical/notes/_autosave.html", {"problems": list(invalid.filled.errors.values())})
    except MederiError as problem:
        return render(request, "clinical/notes/_autosave.html", {"problems": [_message(problem)]})
    return render(request, "clinical/notes/_autosave.html", {"saved": True})


def _back_to_note(request, composition_id, error: str = "", status: int = 200):
    context = context_for_request(request)
    encounter_id = selectors.encounter_of_composition(context, composition_id)
    if error:
        return _visit_page(request, encounter_id, error=error, status=status)
    return redirect("clinical:visit", encounter_id=encounter_id)


def _act_on_note(request, composition_id, act):
    """Run `act(context)` on a note, then go back to it (with the refusal, if it was refused)."""
    try:
        act(context_for_request(request))
    except MederiError as problem:
        return _back_to_note(request, composition_id, _message(problem), problem.status)
    return _back_to_note(request, composition_id)


@staff_page("clinical.write")
@require_POST
def add_addendum(request, composition_id):
    return _act_on_note(request, composition_id, lambda context: services.add_addendum(
        context, composition_id, request.POST.get("kind", ""), request.POST.get("text", "")))


@staff_page("clinical.write")
@require_POST
def sign_addendum(request, composition_id):
    return _act_on_note(request, composition_id, lambda context: services.sign_addendum(context, composition_id))


@staff_page("clinical.write")
@require_POST
def cosign(request, composition_id):
    return _act_on_note(request, composition_id, lambda context: services.cosign(context, composition_id))
