"""Pages of the patient-facing app; thin: they read requests and call services and selectors.

- `q/<token>` (GET, POST): the patient's pre-visit questionnaire. No sign-in; a link that cannot be
  used gets a page saying what to do (404 unknown, 410 expired, answered or withdrawn).
- `invites/appointment/<id>` (GET, scheduling.read): the questionnaire link of an appointment, a
  partial for the check-in page (a page of its own without htmx); `.../give` (POST, scheduling.write)
  gives the link and shows it, with a QR code, this once: only a digest of its token is kept.
- `responses/<id>` (GET, clinical.read): a patient's answers.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.accounts.mfa import qr_data_uri
from mederi.accounts.signals import remote_addr
from mederi.core.errors import MederiError
from mederi.fhir import questionnaires
from mederi.portal import selectors, services
from mederi.portal.errors import InvalidAnswers, QuestionnaireLinkError


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# -- the patient's questionnaire ------------------------------------------------------------------------


def _link_problem(request, problem: QuestionnaireLinkError):
    return render(request, "portal/link_problem.html", {"problem": problem}, status=problem.status)


def _form_page(request, opened: selectors.OpenQuestionnaire, filled: questionnaires.Filled, status: int = 200):
    page_fields = questionnaires.fields(opened.items, filled)
    return render(request, "portal/questionnaire.html", {
        "opened": opened, "fields": page_fields, "summary": questionnaires.error_summary(page_fields),
    }, status=status)


@require_http_methods(["GET", "POST"])
def questionnaire(request, token: str):
    address = remote_addr(request)
    try:
        if request.method == "POST":
            stored = services.answer_questionnaire(token, request.POST, remote_addr=address)
            return render(request, "portal/thanks.html", {"stored": stored})
        opened = selectors.open_questionnaire(token, remote_addr=address)
    except QuestionnaireLinkError as problem:
        return _link_problem(request, problem)
    except InvalidAnswers as problem:
        return _form_page(request, problem.opened, problem.filled, status=400)
    return _form_page(request, opened, questionnaires.empty_form(opened.items))


# -- the check-in panel ----------------------------------------------------------------------------------


def _absolute(request, path: str) -> str:
    """The link as the patient will open it: MEDERI_PORTAL_BASE_URL when set (the address patients
    reach the practice at), else the address this page was asked at."""
    base = getattr(settings, "MEDERI_PORTAL_BASE_URL", "")
    return base.rstrip("/") + path if base else request.build_absolute_uri(path)


def _render_panel(request, appointment_id: str, *, link: str = "", error: str = "", status: int = 200):
    context = context_for_request(request)
    try:
        panel = selectors.invite_panel(context, appointment_id)
    except MederiError as problem:
        return render(request, "portal/_problem.html", {"problem": problem}, status=problem.status)
    template = "portal/_invite_panel.html" if _is_htmx(request) else "portal/invite_panel.html"
    return render(request, template, {"panel": panel, "link": link, "qr": qr_data_uri(link) if link else "",
                                      "error": error}, status=status)


@require_GET
@staff_page("scheduling.read")
def invite_panel(request, appointment_id: str):
    return _render_panel(request, appointment_id)


@require_POST
@staff_page("scheduling.write")
def give_link(request, appointment_id: str):
    context = context_for_request(request)
    try:
        patient_id = selectors.patient_of_appointment(context, appointment_id)
        _, path = services.invite_to_questionnaire(context, patient_id, appointment_id)
    except MederiError as problem:
        message = "; ".join(issue.diagnostics for issue in problem.issues)
        # htmx swaps only successful answers by default: the message comes back as 200 there.
        return _render_panel(request, appointment_id, error=message[:1].upper() + message[1:],
                             status=200 if _is_htmx(request) else problem.status)
    return _render_panel(request, appointment_id, link=_absolute(request, path))


# -- a patient's answers --------------------------------------------------------------------------------


@require_GET
@staff_page("clinical.read")
def response(request, response_id: str):
    try:
        page = selectors.response_page(context_for_request(request), response_id)
    except MederiError as problem:
        return render(request, "portal/problem.html", {"problem": problem}, status=problem.status)
    return render(request, "portal/response.html", {"page": page})
