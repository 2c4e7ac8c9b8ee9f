"""The administrator's supervision page: which clinicians are supervised, and by which physician.
Thin: `supervision.set_supervisor` checks, writes and audits."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import forbidden_page, staff_page
from mederi.clinical.notes import supervision
from mederi.core.errors import Forbidden, MederiError, NotFound


@staff_page("directory.read")
def supervision_list(request):
    context = context_for_request(request)
    return render(request, "clinical/notes/supervision.html", {
        "rows": supervision.supervision_list(context), "can_edit": supervision.PERMISSION in context.permissions})


@staff_page(supervision.PERMISSION)
@require_http_methods(["GET", "POST"])
def supervision_edit(request, practitioner_id: str):
    context = context_for_request(request)
    row = next((r for r in supervision.supervision_list(context) if r.id == practitioner_id), None)
    if row is None:
        raise Http404(f"there is no practitioner '{practitioner_id}'")
    chosen, problem, status = row.supervisor_id, "", 200
    if request.method == "POST":
        chosen = (request.POST.get("supervisor") or "").strip()
        try:
            supervision.set_supervisor(context, practitioner_id, chosen or None)
        except NotFound as error:
            raise Http404(str(error)) from None
        except Forbidden as error:
            return forbidden_page(request, error)
        except MederiError as error:
            problem = "; ".join(issue.diagnostics for issue in error.issues) or str(error)
            status = 400
        else:
            messages.success(request, f"{row.name}'s notes now need co-signing by "
                                      f"{dict(supervision.physician_choices(context))[chosen]}." if chosen
                             else f"{row.name} is no longer supervised: their signature alone completes a note.")
            return redirect("clinical:supervision")
    return render(request, "clinical/notes/supervision_edit.html", {
        "row": row, "choices": supervision.physician_choices(context, excluding=practitioner_id), "chosen": chosen,
        "problem": problem}, status=status)
