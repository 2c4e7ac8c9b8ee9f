"""The scribe's pages: record or upload a visit, follow its transcription, and decide each draft part."""

from __future__ import annotations

from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.ai.scribe import selectors, services
from mederi.ai.scribe.models import DraftPart, Recording
from mederi.audit import services as audit
from mederi.clinical.notes import selectors as note_selectors
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository


def _message(problem: MederiError) -> str:
    return "; ".join(issue.diagnostics for issue in problem.issues) or str(problem)


def _from_recorder(request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _visit_page(request, encounter_id, *, error="", status=200):
    if _from_recorder(request):  # the page's recorder posts with fetch and shows the message itself
        return JsonResponse({"error": error}, status=status)
    context = context_for_request(request)
    try:
        note = note_selectors.visit_note(context, encounter_id)
    except MederiError as problem:
        return render(request, "ai_scribe/visit.html", {"error": _message(problem)}, status=problem.status)
    return render(request, "ai_scribe/visit.html", {
        "note": note, "encounter_id": encounter_id, "error": error,
        "recordings": selectors.recordings_of(encounter_id)}, status=status)


@staff_page("clinical.read")
def visit(request, encounter_id):
    """The visit's recordings; POST takes a new one (a browser recording or an uploaded file)."""
    if request.method != "POST":
        return _visit_page(request, encounter_id)
    upload = request.FILES.get("audio")
    if upload is None:
        return _visit_page(request, encounter_id, error="Choose an audio file of the visit, or record it.", status=400)
    try:
        recording = services.take_recording(context_for_request(request), encounter_id, upload)
    except MederiError as problem:
        return _visit_page(request, encounter_id, error=_message(problem), status=problem.status)
    if _from_recorder(request):
        return JsonResponse({"url": reverse("ai_scribe:recording", args=[recording.pk])})
    return redirect("ai_scribe:recording", recording_id=recording.pk)


def _recording_or_404(request, recording_id):
    recording = selectors.recording(recording_id)
    if recording is None:
        return None, render(request, "ai_scribe/recording.html", {"error": "There is no such recording."}, status=404)
    # Reading the visit checks the person may see this patient's record (and audits it).
    try:
        Repository(context_for_request(request)).read("Encounter", recording.encounter_id)
    except MederiError as problem:
        return None, render(request, "ai_scribe/recording.html", {"error": _message(problem)}, status=problem.status)
    return recording, None


def _recording_page(request, recording: Recording, *, error="", status=200):
    if recording.document_id:
        audit.record(context_for_request(request), "read", patient_id=recording.patient_id,
                     resource_type="DocumentReference", resource_ids=[recording.document_id],
                     query="ui: scribe draft")
    return render(request, "ai_scribe/recording.html", {
        "recording": recording, "error": error, "turns": selectors.turns_of(recording),
        "sections": selectors.sections_of(recording), "findings": selectors.findings_of(recording),
    }, status=status)


@staff_page("clinical.read")
def recording(request, recording_id):
    found, refusal = _recording_or_404(request, recording_id)
    return refusal or _recording_page(request, found)


@staff_page("clinical.read")
def progress(request, recording_id):
    """The progress line the page polls (htmx) while the job runs; the whole page once it is done."""
    found, refusal = _recording_or_404(request, recording_id)
    if refusal:
        return refusal
    if found.status in (Recording.READY, Recording.FAILED):
        response = render(request, "ai_scribe/_progress.html", {"recording": found})
        response["HX-Refresh"] = "true"
        return response
    return render(request, "ai_scribe/_progress.html", {"recording": found})


@staff_page("clinical.read")
@require_POST
def decide(request, part_id):
    part = DraftPart.objects.select_related("recording").filter(pk=part_id).first()
    if part is None:
        return render(request, "ai_scribe/recording.html", {"error": "That part of the draft does not exist."},
                      status=404)
    action = request.POST.get("decision")
    if action not in ("accept", "reject"):
        return _recording_page(request, part.recording, error="Choose Accept or Reject.", status=400)
    try:
        services.decide(context_for_request(request), part_id, accept=action == "accept")
    except MederiError as problem:
        return _recording_page(request, part.recording, error=_message(problem), status=problem.status)
    return HttpResponseRedirect(reverse("ai_scribe:recording", args=[part.recording_id]) + f"#part-{part.pk}")
