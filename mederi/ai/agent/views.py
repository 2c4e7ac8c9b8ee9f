"""The front desk's view of the agent: conversations, one conversation (take over, answer, hand
back) and a box to give the agent a message as a patient would (a call's transcript, say)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.ai.agent import selectors, services
from mederi.core.errors import MederiError


def _message(problem: MederiError) -> str:
    return "; ".join(issue.diagnostics for issue in problem.issues) or str(problem)


@staff_page("scheduling.read")
def conversations(request, *, error="", tried=None, status=200):
    context = context_for_request(request)
    return render(request, "ai_agent/conversations.html", {
        "rows": selectors.conversations(context), "queues": selectors.open_requests(context),
        "channels": services.CHANNELS, "error": error, "tried": tried, "form": request.POST,
    }, status=status)


@staff_page("scheduling.write")
@require_POST
def try_message(request):
    """A patient's message entered by hand: the patient's id (or phone/email), channel and text."""
    try:
        reply = services.handle_message(request.POST.get("channel", ""), request.POST.get("text", ""),
                                         patient_id=request.POST.get("patient_id", "").strip(),
                                         address=request.POST.get("address", "").strip())
    except MederiError as problem:
        return conversations(request, error=_message(problem), status=problem.status)
    return redirect("ai_agent:conversation", conversation_id=reply.conversation_id)


@staff_page("scheduling.read")
def conversation(request, conversation_id, *, error="", status=200):
    try:
        page = selectors.conversation_page(context_for_request(request), conversation_id)
    except MederiError as problem:
        return render(request, "ai_agent/conversation.html", {"error": _message(problem)}, status=problem.status)
    return render(request, "ai_agent/conversation.html", {"page": page, "error": error}, status=status)


def _staff_action(request, conversation_id, action, *args):
    try:
        action(context_for_request(request), conversation_id, *args)
    except MederiError as problem:
        return conversation(request, conversation_id, error=_message(problem), status=problem.status)
    return redirect("ai_agent:conversation", conversation_id=conversation_id)


@staff_page("scheduling.write")
@require_POST
def take_over(request, conversation_id):
    return _staff_action(request, conversation_id, services.take_over)


@staff_page("scheduling.write")
@require_POST
def hand_back(request, conversation_id):
    return _staff_action(request, conversation_id, services.hand_back)


@staff_page("scheduling.write")
@require_POST
def reply(request, conversation_id):
    return _staff_action(request, conversation_id, services.staff_reply, request.POST.get("text", ""))


@login_required
def my_messages(request):
    """A signed-in patient writes to the practice (the portal channel) and reads the answers."""
    context = context_for_request(request)
    if not context.patient_id:
        return render(request, "web/forbidden.html", {"missing": ["a patient's own portal account"]}, status=403)
    error, status = "", 200
    if request.method == "POST":
        try:
            services.handle_message("portal", request.POST.get("text", ""), patient_id=context.patient_id)
            return redirect("ai_agent:my-messages")
        except MederiError as problem:
            error, status = _message(problem), problem.status
    return render(request, "ai_agent/my_messages.html", {
        "turns": selectors.patient_messages(context), "error": error, "text": request.POST.get("text", "")},
        status=status)


@staff_page("scheduling.write")
@require_POST
def close_request(request, task_id):
    try:
        services.close_request(context_for_request(request), task_id)
    except MederiError as problem:
        return conversations(request, error=_message(problem), status=problem.status)
    return redirect("ai_agent:conversations")
