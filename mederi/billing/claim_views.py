"""Claims pages: the list by status, one claim with its findings and actions, batch submission
progress, the CMS-1500 PDF, and the fee schedules."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.ai.denial import selectors as denial_risk
from mederi.billing import claim_status
from mederi.billing.claims import cms1500, fees, runs, workflow
from mederi.billing.claims import selectors as claim_selectors
from mederi.billing.claims.claims import claim_data
from mederi.billing.claims.scrubber import anchor
from mederi.billing.claims.submit import scrub_claim, submit_claims
from mederi.billing.claims.tables import FeeSchedule, FeeScheduleEntry, SubmissionRun
from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.selectors import payers
from mederi.core.errors import Forbidden, Gone, MederiError, NotFound
from mederi.fhir.repository import Repository


@staff_page("financial.read")
def claim_list(request):
    status = request.GET.get("status", "")
    status = status if status in claim_status.LABELS else ""
    claims = denial_risk.attach(claim_selectors.claims(context_for_request(request), status=status,
                                                       patient_id=request.GET.get("patient", "").strip()))
    return render(request, "billing/claims.html", {
        "claims": claims, "high_risk": [c for c in claims if c["status"] == claim_status.SCRUBBED and c["risk"]
                                        and c["risk"].level == "high"],
        "status": status, "statuses": claim_status.LABELS.items(),
        "can_submit": "claims.submit" in context_for_request(request).permissions,
    })


def _claim_page(request, claim_id: str, error: MederiError | None = None, status: int = 200):
    try:
        page = claim_selectors.claim_page(context_for_request(request), claim_id)
    except (NotFound, Gone):
        raise Http404("no such claim") from None
    errors = [(issue.diagnostics, anchor(issue.expression)) for issue in (error.issues if error else ())]
    return render(request, "billing/claim.html", {
        "page": page, "errors": errors, "editable": page.summary["status"] in workflow.EDITABLE,
        "sent": page.summary["status"] in workflow.SENT, "scrubbed": page.summary["status"] == claim_status.SCRUBBED,
        "blocking": any(issue.severity == "error" for issue, _ in page.findings),
        "postings": ledger_selectors.claim_postings(page.summary["number"] or ""),
        "risk": denial_risk.for_claim_page(context_for_request(request), page.claim, int(page.claim["meta"]["versionId"])),
    }, status=status)


@staff_page("financial.read")
def claim(request, claim_id: str):
    return _claim_page(request, claim_id)


@staff_page("financial.write")
@require_POST
def claim_action(request, claim_id: str):
    """Scrub, submit, fix a line or a diagnosis, or make the corrected/void claim; errors shown at their field."""
    context = context_for_request(request)
    action, post = request.POST.get("action", ""), request.POST
    try:
        if action == "scrub":
            scrub_claim(context, claim_id)
            messages.success(request, "The claim passed the scrubber and is ready to send.")
        elif action == "submit":
            [sent] = submit_claims(context, [claim_id])
            messages.success(request, f"Sent to the clearinghouse in {sent.request_id}.")
        elif action == "line":
            sequence = int(post.get("sequence", "0"))
            workflow.change_line(context, claim_id, sequence, modifiers=post.getlist("modifier"),
                                 units=post.get("units", ""), pointers=post.getlist("pointer"))
            messages.success(request, f"Line {sequence} changed; scrub the claim again.")
        elif action == "remove-line":
            workflow.remove_line(context, claim_id, int(post.get("sequence", "0")))
            messages.success(request, "Line removed; scrub the claim again.")
        elif action == "diagnosis":
            workflow.replace_diagnosis(context, claim_id, int(post.get("sequence", "0")), post.get("code", ""))
            messages.success(request, "Diagnosis changed; scrub the claim again.")
        elif action == "add-diagnosis":
            number = workflow.add_diagnosis(context, claim_id, post.get("code", ""))
            messages.success(request, f"Diagnosis {number} added: point a line to it.")
        elif action in ("correct", "void"):
            new_id = workflow.follow_up_claim(context, claim_id, "7" if action == "correct" else "8",
                                              post.get("payer_claim_number", "").strip())
            messages.success(request, "Corrected claim created: fix it, scrub and send it." if action == "correct"
                             else "Void claim created: scrub and send it to cancel the original.")
            return redirect("billing:claim", claim_id=new_id)
        else:
            return _claim_page(request, claim_id, MederiError.single("Choose an action."), status=400)
    except Forbidden:
        raise
    except ValueError:
        return _claim_page(request, claim_id, MederiError.single("That line or diagnosis number is not valid."), 400)
    except (NotFound, Gone):
        raise Http404("no such claim") from None
    except MederiError as error:
        return _claim_page(request, claim_id, error, status=400)
    return redirect("billing:claim", claim_id=claim_id)


@staff_page("financial.read")
def claim_pdf(request, claim_id: str):
    repository = Repository(context_for_request(request))
    try:
        data = claim_data(repository, repository.read("Claim", claim_id).as_dict(), [])
    except (NotFound, Gone):
        raise Http404("no such claim") from None
    response = HttpResponse(cms1500.cms1500_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="cms1500-{data.claim_number}.pdf"'
    return response


@staff_page("financial.write")
@require_POST
def submit_batch(request):
    try:
        run = runs.start_run(context_for_request(request), request.POST.getlist("claim"))
    except Forbidden:
        raise
    except MederiError as error:
        messages.error(request, "; ".join(i.diagnostics for i in error.issues))
        return redirect("billing:claims")
    return redirect("billing:run", run_id=run.pk)


@staff_page("financial.read")
def run(request, run_id: int):
    try:
        found = SubmissionRun.objects.get(pk=run_id)
    except SubmissionRun.DoesNotExist:
        raise Http404("no such submission") from None
    partial = request.headers.get("HX-Request") == "true"
    return render(request, "billing/_run.html" if partial else "billing/run.html", {"run": found})


@staff_page("financial.read")
def fee_schedules(request):
    context = context_for_request(request)
    fees.default_schedule()
    known = {p.organization_id: p.name for p in payers(context)}
    if request.method == "POST":
        try:
            payer_id = request.POST.get("payer", "")
            if payer_id not in known:
                raise MederiError.single("Choose a payer from the directory.", expression="payer")
            schedule = fees.schedule_for_payer(context, payer_id, f"{known[payer_id]} fee schedule")
            return redirect("billing:fee-schedule", schedule_id=schedule.pk)
        except Forbidden:
            raise
        except MederiError as error:
            return render(request, "billing/fee_schedules.html", {
                "schedules": FeeSchedule.objects.all(), "payers": known, "error": error.issues[0].diagnostics},
                status=400)
    return render(request, "billing/fee_schedules.html", {"schedules": FeeSchedule.objects.all(), "payers": known})


@staff_page("financial.read")
def fee_schedule(request, schedule_id: int):
    try:
        schedule = FeeSchedule.objects.get(pk=schedule_id)
    except FeeSchedule.DoesNotExist:
        raise Http404("no such fee schedule") from None
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        context = context_for_request(request)
        try:
            if request.POST.get("remove"):
                fees.remove_price(context, int(request.POST["remove"]))
                messages.success(request, "Price removed.")
            else:
                values = request.POST
                entry = fees.set_price(context, schedule, values.get("code", ""), values.get("modifiers", ""),
                                       values.get("price", ""))
                messages.success(request, f"{entry.code} now costs {entry.price}.")
            return redirect("billing:fee-schedule", schedule_id=schedule.pk)
        except Forbidden:
            raise
        except MederiError as error:
            for issue in error.issues:
                errors.setdefault(issue.expression or "code", []).append(issue.diagnostics)
            status = 400
    entries = FeeScheduleEntry.objects.filter(schedule=schedule)
    return render(request, "billing/fee_schedule.html", {
        "schedule": schedule, "entries": [(e, fees.describe(e.code)) for e in entries], "errors": errors,
        "values": values, "can_edit": "financial.write" in context_for_request(request).permissions}, status=status)
