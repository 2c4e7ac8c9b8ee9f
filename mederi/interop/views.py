"""Staff pages of the interfaces: lab connections, orders sent, and refused messages to review and replay."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.core.errors import MederiError
from mederi.interop import inbound, selectors, services
from mederi.interop.forms import LabConnectionForm
from mederi.interop.models import DeadLetter, LabConnection

MANAGE = inbound.PERMISSION


@staff_page(MANAGE)
def lab_list(request):
    return render(request, "interop/labs.html", {"labs": selectors.lab_connections(),
                                                 "orders": selectors.recent_orders(50)})


def _lab_form(request, connection_id: int | None):
    if request.method == "POST":
        form = LabConnectionForm(request.POST, connection_id=connection_id)
        if form.is_valid():
            try:
                saved = services.save_lab_connection(context_for_request(request), form.values(), connection_id)
            except MederiError as error:
                form.add_service_error(error)
            else:
                messages.success(request, f"Saved the connection to {saved.name}.")
                return redirect("interop:labs")
        return render(request, "interop/lab_form.html", {"form": form, "connection_id": connection_id}, status=400)
    initial = {}
    if connection_id:
        connection = LabConnection.objects.filter(pk=connection_id).first()
        if connection is None:
            raise Http404("no such lab connection")
        initial = LabConnectionForm.initial_for(connection)
    form = LabConnectionForm(initial=initial, connection_id=connection_id)
    return render(request, "interop/lab_form.html", {"form": form, "connection_id": connection_id})


@staff_page(MANAGE)
def lab_new(request):
    return _lab_form(request, None)


@staff_page(MANAGE)
def lab_edit(request, connection_id: int):
    return _lab_form(request, connection_id)


@staff_page(MANAGE)
def dead_letter_list(request):
    state = request.GET.get("state", DeadLetter.NEW)
    if state not in dict(DeadLetter.STATES):
        state = DeadLetter.NEW
    return render(request, "interop/dead_letters.html", {
        "letters": selectors.dead_letters(state), "state": state, "states": DeadLetter.STATES})


@staff_page(MANAGE)
def dead_letter_detail(request, letter_id: int):
    letter = selectors.dead_letter(letter_id)
    if letter is None:
        raise Http404("no such refused message")
    return render(request, "interop/dead_letter.html", {"letter": letter, "segments": letter.content.splitlines()})


@require_POST
@staff_page(MANAGE)
def dead_letter_replay(request, letter_id: int):
    try:
        reports = inbound.replay(context_for_request(request), letter_id)
    except MederiError as error:
        messages.error(request, f"Still refused: {error}")
        return redirect("interop:dead-letter", letter_id=letter_id)
    messages.success(request, f"Replayed and stored: {len(reports)} report(s).")
    return redirect("interop:dead-letters")


@require_POST
@staff_page(MANAGE)
def dead_letter_dismiss(request, letter_id: int):
    try:
        inbound.dismiss(context_for_request(request), letter_id)
    except MederiError as error:
        messages.error(request, str(error))
        return redirect("interop:dead-letter", letter_id=letter_id)
    messages.success(request, "Dismissed; nothing was stored.")
    return redirect("interop:dead-letters")
