"""Remittance pages: the 835s posted (and posting one by hand), the work queue, the denial queue, denial rates."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.core.errors import InvalidRequest, MederiError
from mederi.reports import exports
from mederi.reports.charts import bar_chart

from . import selectors, services
from .forms import ResolveForm, UploadForm
from .models import WorkItem

PERMISSION = "payments.post"


def _files_page(request, form: UploadForm, status: int = 200):
    return render(request, "remittance/files.html", {
        "form": form, "files": selectors.recent_files(), "inbound": selectors.inbound_files(),
    }, status=status)


@staff_page(PERMISSION)
def files(request):
    if request.method != "POST":
        return _files_page(request, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _files_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = services.post_remittance(context_for_request(request), upload.read(), name=upload.name)
    except MederiError as error:
        for issue in error.issues:
            form.add_error("file", issue.diagnostics)
        return _files_page(request, form, status=400)
    messages.success(request, result.summary())
    return redirect("billing:remittance:files")


@staff_page(PERMISSION)
def work_queue(request):
    return render(request, "remittance/work_queue.html", {
        "items": selectors.open_items([WorkItem.UNMATCHED_CLAIM, WorkItem.UNMATCHED_LINE, WorkItem.ORPHAN_REVERSAL]),
        "form": ResolveForm(),
    })


@staff_page("claims.submit")
def rejections(request):
    if request.method == "POST":
        form = ResolveForm(request.POST)
        try:
            if not form.is_valid():
                raise InvalidRequest.single("say what was done about it (at least 5 characters)")
            services.resolve_rejection(context_for_request(request), int(request.POST.get("item") or 0),
                                       form.cleaned_data["resolution"])
            messages.success(request, "Marked as dealt with.")
        except (MederiError, ValueError) as error:
            messages.error(request, "; ".join(i.diagnostics for i in error.issues) if isinstance(error, MederiError)
                           else "choose a rejected claim from the list")
        return redirect("billing:remittance:rejections")
    return render(request, "remittance/rejections.html", {"items": selectors.open_rejections(), "form": ResolveForm()})


@staff_page(PERMISSION)
def denial_queue(request):
    return render(request, "remittance/denials.html", {"groups": selectors.denial_groups(), "form": ResolveForm()})


@staff_page(PERMISSION)
def resolve(request, item_id: int):
    back = request.POST.get("back") if request.POST.get("back") in ("denials", "work-queue") else "work-queue"
    if request.method == "POST":
        form = ResolveForm(request.POST)
        try:
            if not form.is_valid():
                raise InvalidRequest.single("say what was done about it (at least 5 characters)")
            services.resolve_work_item(context_for_request(request), item_id, form.cleaned_data["resolution"])
            messages.success(request, "Marked as dealt with.")
        except MederiError as error:
            messages.error(request, "; ".join(issue.diagnostics for issue in error.issues))
    return redirect(f"billing:remittance:{back}")


@staff_page(PERMISSION)
def denial_rate(request):
    by_payer, by_reason = selectors.denial_rate_by_payer(), selectors.denial_rate_by_reason()
    if request.GET.get("format") == "csv":
        rows = [("payer", r.label, r.claims, r.denied, r.rate, r.denied_amount) for r in by_payer]
        rows += [("reason", r.label, r.claims, r.denied, r.rate, r.denied_amount) for r in by_reason]
        response = HttpResponse(exports._csv(["by", "payer or reason", "claims answered", "denied", "denial rate %",
                                              "amount denied"], rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="denial-rate.csv"'
        return response
    chart = bar_chart("chart-denials-payer", "denial rate by payer",
                      [(r.label, r.rate, f"{r.rate}%" if r.rate is not None else "no claims") for r in by_payer],
                      scale_max=100, colour="red")
    return render(request, "remittance/denial_rate.html", {"by_payer": by_payer, "by_reason": by_reason,
                                                           "chart": chart})
