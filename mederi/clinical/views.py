from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mederi.accounts import working_location
from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.clinical import inbox, queue
from mederi.core.errors import Conflict, Gone, NotFound
from mederi.scheduling.views import scheduling_page


@scheduling_page("scheduling.read", "clinical.read")
def clinician_queue(request):
    """Who is waiting to be seen today, where the signed-in clinician works (or everywhere)."""
    location_id = request.GET.get("location") or working_location.of_request(request)
    mine = request.GET.get("mine") == "1"
    context = context_for_request(request)
    practitioner_id = _own_practitioner(request.user) if mine else None
    waiting = queue.clinician_queue(context, location_id=location_id, practitioner_id=practitioner_id)
    return render(request, "clinical/queue.html", {
        "waiting": waiting, "location_name": working_location.name_of(location_id), "mine": mine,
        "has_practitioner": bool(_own_practitioner(request.user)),
    })


def _own_practitioner(user) -> str:
    profile = getattr(user, "profile", None)
    return getattr(profile, "practitioner_id", "") or ""


@staff_page("clinical.read", inbox.PERMISSION)
def results_inbox(request):
    """New results of the signed-in clinician's orders, critical and abnormal first."""
    practitioner_id = _own_practitioner(request.user)
    reports = inbox.results_inbox(context_for_request(request), practitioner_id) if practitioner_id else []
    return render(request, "clinical/inbox.html", {"reports": reports, "has_practitioner": bool(practitioner_id)})


@staff_page("clinical.read", inbox.PERMISSION)
def result_report(request, report_id: str):
    try:
        report = inbox.report(context_for_request(request), report_id)
    except (NotFound, Gone):
        raise Http404("no such report") from None
    return render(request, "clinical/result.html", {"report": report})


@require_POST
@staff_page("clinical.read", inbox.PERMISSION)
def sign_result(request, report_id: str):
    practitioner_id = _own_practitioner(request.user)
    if not practitioner_id:
        messages.error(request, "Only a practitioner can sign results: your account is not linked to one.")
        return redirect("clinical:result", report_id=report_id)
    name = getattr(request.user, "profile", None) and request.user.profile.full_name or request.user.get_username()
    try:
        inbox.sign_report(context_for_request(request), report_id,
                          {"reference": f"Practitioner/{practitioner_id}", "display": name})
    except (NotFound, Gone):
        raise Http404("no such report") from None
    except Conflict as error:
        messages.error(request, str(error))
        return redirect("clinical:result", report_id=report_id)
    messages.success(request, "Reviewed and signed; the report left your inbox.")
    return redirect("clinical:inbox")
