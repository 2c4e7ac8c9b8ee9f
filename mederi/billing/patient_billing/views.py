"""Patient billing pages: statements (one now, or a run for everyone owing), a patient's card payments,
cards on file and payment plan, and the list of plans with missed instalments first."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.accounts.decorators import forbidden_page, staff_page
from mederi.accounts.middleware import SecurityHeadersMiddleware
from mederi.billing.ledger import services as ledger
from mederi.core.errors import Forbidden, MederiError

from . import cards, plans, selectors, statements
from .forms import CancelForm, CardPaymentForm, PlanForm, RefundForm, RunForm
from .gateway import browser_gateway
from .models import CardCharge, Instalment, StatementRun, StoredCard

READ = "financial.read"
COLLECT = cards.COLLECT


def _errors_into(form, error: MederiError) -> None:
    for issue in error.issues:
        form.add_error(issue.expression if issue.expression in form.fields else None, issue.diagnostics)


@staff_page(READ, "demographics.read")
def statement_list(request):
    context = context_for_request(request)
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = statements.start_run(context, form.cleaned_data["minimum"])
            return redirect("billing:patient_billing:run", run_id=run.pk)
        except Forbidden:
            raise
        except MederiError as error:
            _errors_into(form, error)
    return render(request, "patient_billing/statements.html", {
        "form": form, "owing": selectors.patients_owing(context), "runs": selectors.recent_runs(),
    }, status=400 if request.method == "POST" else 200)


@staff_page(READ)
def run(request, run_id: int):
    found = StatementRun.objects.filter(pk=run_id).first()
    if found is None:
        raise Http404("no such statement run")
    partial = request.headers.get("HX-Request") == "true"
    return render(request, "patient_billing/_run.html" if partial else "patient_billing/run.html",
                  {"run": found, "statements": found.statements.order_by("pk")[:200]})


@staff_page(READ, "demographics.read")
def statement_pdf(request, number: str):
    try:
        name, pdf = statements.statement_pdf_of(context_for_request(request), number)
    except MederiError:
        raise Http404("no such statement") from None
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _forms(page, data=None, action: str = ""):
    """The patient page's forms; the one that was posted is bound to its data."""
    card_list = page.cards
    return {
        "pay_form": CardPaymentForm(data if action == "pay" else None, cards=card_list, prefix="pay",
                                    initial={"amount": page.balance if page.balance > 0 else ""}),
        "plan_form": PlanForm(data if action == "plan" else None, cards=card_list, prefix="plan",
                              initial={"amount": page.balance if page.balance > 0 else ""}),
        "refund_form": RefundForm(data if action == "refund" else None, prefix="refund"),
        "cancel_form": CancelForm(data if action == "cancel" else None, prefix="cancel"),
    }


def _page(request, page, forms: dict, status: int = 200):
    """The patient's billing page; the front desk sees the balance and takes card payments, billers see all."""
    held = permissions_for_request(request)
    gateway_url, gateway_key = browser_gateway()
    response = render(request, "patient_billing/patient.html", {
        "page": page, **forms, "gateway_url": gateway_url,
        "gateway_key": gateway_key, "sees_statements": READ in held, "issues_statements": statements.PERMISSION in held,
        "posts": ledger.PERMISSION in held}, status=status)
    response["Content-Security-Policy"] = SecurityHeadersMiddleware.policy_connecting_to(gateway_url)
    return response


@staff_page(COLLECT, "demographics.read")
def patient(request, patient_id: str):
    context = context_for_request(request)
    page = selectors.patient_billing(context, patient_id)
    if request.method != "POST":
        return _page(request, page, _forms(page))
    action = request.POST.get("action", "")
    forms = _forms(page, request.POST, action)
    try:
        done = _act(context, page, action, forms, request.POST)
        if done:
            messages.success(request, done)
            return redirect("billing:patient_billing:patient", patient_id=patient_id)
    except Forbidden as error:
        return forbidden_page(request, error)
    except MederiError as error:
        target = {"pay": "pay_form", "plan": "plan_form", "refund": "refund_form", "cancel": "cancel_form"}.get(action)
        if target:
            _errors_into(forms[target], error)
        else:
            for issue in error.issues:
                messages.error(request, issue.diagnostics)
            return redirect("billing:patient_billing:patient", patient_id=patient_id)
    if action == "pay":
        forms["pay_form"].forget_token()
    return _page(request, selectors.patient_billing(context, patient_id), forms, status=400)


def _act(context, page, action: str, forms: dict, data) -> str:
    """Do what the patient page asked; the message to show, or "" when the form has errors to show."""
    patient_id = page.patient_id
    if action == "statement":
        statement = statements.issue_statement(context, patient_id)
        return f"Statement {statement.number} made: balance due {statement.balance}."
    if action == "pay":
        form = forms["pay_form"]
        if not form.is_valid():
            return ""
        values = form.cleaned_data
        card = StoredCard.objects.filter(pk=values["card"], patient_id=patient_id, active=True).first() \
            if values["card"] else None
        if card is None and values["keep"]:
            card = cards.save_card(context, patient_id, values["token"], values["holder"])
        charge = cards.pay_by_card(context, patient_id, values["amount"], card=card, token=values["token"])
        return f"{charge.amount} paid by {charge.brand} ending {charge.last4}: receipt {charge.receipt_number}."
    if action == "plan":
        form = forms["plan_form"]
        if not form.is_valid():
            return ""
        values = form.cleaned_data
        plan = plans.create_plan(context, patient_id, values["amount"], values["months"], values["first_due"],
                                 values["card"])
        return f"Payment plan of {plan.total} in {plan.instalments.count()} monthly instalments set up."
    if action == "charge-instalment":
        instalment = Instalment.objects.filter(pk=data.get("instalment") or 0, plan__patient_id=patient_id).first() \
            if str(data.get("instalment", "")).isdigit() else None
        if instalment is None:
            raise MederiError.single("There is no such instalment on this patient's plan.")
        instalment = plans.charge_instalment(context, instalment.pk)
        if instalment.status != Instalment.PAID:
            raise MederiError.single(f"Instalment {instalment.number} was not paid: {instalment.problem}")
        return f"Instalment {instalment.number} paid: receipt {instalment.charge.receipt_number}."
    if action == "cancel":
        form = forms["cancel_form"]
        if not form.is_valid() or page.plan is None:
            return ""
        plans.cancel_plan(context, page.plan.pk, form.cleaned_data["reason"])
        return "The payment plan is cancelled; no more instalments will be charged."
    if action == "refund":
        form = forms["refund_form"]
        charge = CardCharge.objects.filter(pk=data.get("charge") or 0, patient_id=patient_id).first() \
            if str(data.get("charge", "")).isdigit() else None
        if not form.is_valid():
            return ""
        if charge is None:
            raise MederiError.single("Choose the card payment to refund.", expression="amount")
        charge = cards.refund_to_card(context, charge.pk, form.cleaned_data["amount"], form.cleaned_data["note"])
        return f"Refunded to {charge.brand} ending {charge.last4}."
    raise MederiError.single("That is not something this page does.")


@staff_page(READ)
def plan_list(request):
    return render(request, "patient_billing/plans.html", {"rows": selectors.plans(context_for_request(request))})
