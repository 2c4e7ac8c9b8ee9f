from django.shortcuts import render

from mederi.accounts import working_location
from mederi.accounts.context import context_for_request
from mederi.clinical import queue
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
