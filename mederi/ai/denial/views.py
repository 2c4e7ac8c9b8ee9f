"""Denial-risk pages: the model (version, window, what it learned, retrain now) and scoring a claim again."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.core.errors import Forbidden, MederiError

from . import services
from .model import KINDS
from .models import DenialModel

KIND_WORDS = {"payer": "payer", "code": "payer and code", "modifiers": "payer, code and modifiers",
              "diagnosis": "payer, code and diagnosis group", "place": "payer and place of service",
              "code-all-payers": "code and modifiers, all payers"}


def _message(problem: MederiError) -> str:
    return "; ".join(issue.diagnostics for issue in problem.issues) or str(problem)


@staff_page("financial.read")
def model_page(request):
    models = list(DenialModel.objects.defer("parameters").order_by("-version")[:20])  # the newest loads its own
    active = models[0] if models else None
    weights, parameters = [], {}
    if active:
        parameters = active.parameters
        weights = [(KIND_WORDS[k], round(parameters["history_weights"][k], 2), len(parameters["slices"].get(k, {})))
                   for k in KINDS]
    return render(request, "ai_denial/model.html", {
        "active": active, "models": models, "weights": weights,
        "rules": parameters["rules_weights"] if active else None,
        "can_train": "financial.write" in context_for_request(request).permissions})


@staff_page("financial.write")
@require_POST
def retrain(request):
    try:
        row = services.train_model(context_for_request(request), months=int(request.POST.get("months") or 12))
    except Forbidden:
        raise
    except ValueError:
        messages.error(request, "The training window is a whole number of months (1 to 60).")
    except MederiError as problem:
        messages.error(request, _message(problem))
    else:
        messages.success(request, f"Model version {row.version} learned from {row.claims} claims ({row.lines} lines) "
                                  f"served from {row.window_start} to {row.window_end}.")
    return redirect("ai_denial:model")


@staff_page("financial.read")
@require_POST
def score(request, claim_id: str):
    try:
        row = services.score_claim(context_for_request(request), claim_id)
    except Forbidden:
        raise
    except MederiError as problem:
        messages.error(request, _message(problem))
        return redirect("billing:claims")
    messages.success(request, f"Denial risk {row.percent}% (rules alone {row.rules_percent}%).")
    return redirect("billing:claim", claim_id=claim_id)
