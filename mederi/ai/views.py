"""The coding-suggestion page of a note: run the engine, then accept or reject each draft."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.ai import selectors, services
from mederi.ai.models import Suggestion
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository


def _message(problem: MederiError) -> str:
    return "; ".join(issue.diagnostics for issue in problem.issues) or str(problem)


def _page(request, composition_id, *, error="", status=200):
    context = context_for_request(request)
    try:
        composition = Repository(context).read("Composition", composition_id).as_dict()
    except MederiError as problem:
        return render(request, "ai/coding.html", {"error": _message(problem)}, status=problem.status)
    suggestions = selectors.latest_suggestions(composition_id)
    return render(request, "ai/coding.html", {
        "composition": composition, "composition_id": composition_id, "error": error,
        "diagnoses": [s for s in suggestions if s.kind == "diagnosis"],
        "visit_levels": [s for s in suggestions if s.kind == "visit-level"],
        "procedures": [s for s in suggestions if s.kind == "procedure"],
        "ran": bool(suggestions), "new_patient": request.POST.get("new_patient") == "yes",
    }, status=status)


@staff_page("clinical.read")
def coding(request, composition_id):
    if request.method != "POST":
        return _page(request, composition_id)
    try:
        services.suggest_for_note(context_for_request(request), composition_id,
                                  new_patient=request.POST.get("new_patient") == "yes")
    except MederiError as problem:
        return _page(request, composition_id, error=_message(problem), status=problem.status)
    return redirect("ai:coding", composition_id=composition_id)


@staff_page("clinical.read")
@require_POST
def decide(request, suggestion_id):
    suggestion = Suggestion.objects.filter(pk=suggestion_id).first()
    if suggestion is None:
        return render(request, "ai/coding.html", {"error": "That suggestion does not exist."}, status=404)
    action = request.POST.get("decision")
    if action not in ("accept", "reject"):
        return _page(request, suggestion.composition_id, error="Choose Accept or Reject.", status=400)
    try:
        services.decide(context_for_request(request), suggestion_id, accept=action == "accept")
    except MederiError as problem:
        return _page(request, suggestion.composition_id, error=_message(problem), status=problem.status)
    return redirect("ai:coding", composition_id=suggestion.composition_id)
