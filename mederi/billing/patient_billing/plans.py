"""Payment plans: a patient's balance split into monthly instalments, charged to a card on file.

`create_plan` splits the amount into equal instalments (the odd cents go to the first ones) due
on the same day of each month (the month's last day when it is shorter). `charge_due_instalments`,
run daily by a huey job, charges every instalment that is due through the gateway; a decline marks
the instalment missed with the reason, which flags the plan on the plans page. A missed instalment
is tried again by the job once a day up to `ATTEMPTS` times, or at once by a person ("Charge now").
A plan whose instalments are all paid is completed.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from django.db import transaction

from mederi.audit import services as audit
from mederi.billing import practice
from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import as_cents
from mederi.billing.models import PatientPayment
from mederi.billing.payments import parse_amount
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError
from mederi.fhir.repository import Repository

from . import cards
from .models import CardCharge, Instalment, PaymentPlan, StoredCard

ATTEMPTS = 3  # a declined instalment is tried on this many days before it waits for a person
MONTHS = range(2, 25)


def month_later(start: dt.date, months: int) -> dt.date:
    """The same day `months` later, or that month's last day when it has fewer days."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def split(total_cents: int, count: int) -> list[int]:
    """Equal parts in cents that add up to the total exactly; the first parts carry the odd cents."""
    base, extra = divmod(total_cents, count)
    return [base + (1 if index < extra else 0) for index in range(count)]


def create_plan(context: Context, patient_id: str, amount, months, first_due: dt.date | None, card_id) -> PaymentPlan:
    """A plan for `amount` of the patient's balance in `months` monthly instalments from `first_due`."""
    ledger.require_posting(context)
    Repository(context).read("Patient", patient_id)
    problems, total = [], Decimal("0.00")
    try:
        total = parse_amount(amount)
    except MederiError as error:
        problems += error.issues
    balance = ledger_selectors.balance_of(ledger.patient_account(patient_id))
    if total and total > balance:
        problems.append(Issue(f"the patient owes {balance}: a plan cannot be for more", expression="amount"))
    try:
        months = int(months)
        if months not in MONTHS:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(Issue(f"choose {MONTHS.start} to {MONTHS.stop - 1} monthly instalments", expression="months"))
    today = practice.today()
    if first_due is None or first_due < today or first_due > month_later(today, 2):
        problems.append(Issue("the first instalment is due between today and two months from now",
                              expression="first_due"))
    card = StoredCard.objects.filter(pk=card_id or 0, patient_id=patient_id, active=True).first() \
        if str(card_id or "").isdigit() else None
    if card is None:
        problems.append(Issue("choose the patient's card on file (add one first)", expression="card"))
    elif first_due and not problems and cards.card_expired(card, month_later(first_due, months - 1)):
        problems.append(Issue(f"{card} expires before the last instalment: use a card valid to "
                              f"{month_later(first_due, months - 1):%m/%Y}", expression="card"))
    if PaymentPlan.objects.filter(patient_id=patient_id, status=PaymentPlan.ACTIVE).exists():
        problems.append(Issue("the patient already has an active payment plan: cancel it first"))
    if problems:
        raise InvalidRequest(problems)
    with transaction.atomic():
        plan = PaymentPlan.objects.create(patient_id=patient_id, card=card, total_cents=as_cents(total),
                                          created_by=cards._who(context))
        Instalment.objects.bulk_create([
            Instalment(plan=plan, number=index + 1, due=month_later(first_due, index), amount_cents=cents)
            for index, cents in enumerate(split(plan.total_cents, months))])
        audit.record(context, "create", patient_id=patient_id, resource_type="PaymentPlan", resource_ids=[str(plan.pk)],
                     detail={"amount": str(total), "months": months, "first_due": first_due.isoformat()})
    return plan


def cancel_plan(context: Context, plan_id: int, reason: str) -> PaymentPlan:
    ledger.require_posting(context)
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidRequest.single("say why the plan is cancelled (at least 5 characters)", expression="reason")
    with transaction.atomic():
        plan = PaymentPlan.objects.select_for_update().filter(pk=plan_id, status=PaymentPlan.ACTIVE).first()
        if plan is None:
            raise InvalidRequest.single("there is no active payment plan with that number")
        plan.status, plan.note = PaymentPlan.CANCELLED, reason[:200]
        plan.save(update_fields=["status", "note"])
        audit.record(context, "update", patient_id=plan.patient_id, resource_type="PaymentPlan",
                     resource_ids=[str(plan.pk)], detail={"cancelled": reason[:200]})
    return plan


def charge_instalment(context: Context, instalment_id: int, today: dt.date | None = None, *,
                      once_a_day: bool = False) -> Instalment:
    """Charge one instalment to the plan's card now; a decline leaves it missed with the reason.

    The job passes `once_a_day`: an instalment it tried today waits for tomorrow (a person may try again at once).
    """
    context.require(cards.COLLECT, "your roles do not allow taking card payments")
    today = today or practice.today()
    with transaction.atomic():
        # Claimed first (the day noted) so two runs of the job never charge the same instalment.
        waiting = (Instalment.objects.filter(pk=instalment_id, plan__status=PaymentPlan.ACTIVE)
                   .exclude(status=Instalment.PAID))
        if once_a_day:
            waiting = waiting.exclude(last_attempt=today)
        claimed = waiting.update(last_attempt=today)
    instalment = Instalment.objects.select_related("plan", "plan__card").get(pk=instalment_id)
    if not claimed:
        if instalment.status == Instalment.PAID or instalment.plan.status != PaymentPlan.ACTIVE:
            raise InvalidRequest.single(f"instalment {instalment.number} is not waiting to be paid")
        raise InvalidRequest.single(f"instalment {instalment.number} was already tried today; try again tomorrow")
    plan = instalment.plan
    charge = CardCharge.objects.create(patient_id=plan.patient_id, amount_cents=instalment.amount_cents,
                                       brand=plan.card.brand, last4=plan.card.last4, card=plan.card,
                                       created_by=cards._who(context))
    instalment.attempts += 1
    instalment.charge = charge
    try:
        cards._charge(context, charge, plan.card.token, PatientPayment.BALANCE)
        instalment.status, instalment.problem = Instalment.PAID, ""
    except MederiError as error:
        instalment.status = Instalment.MISSED
        instalment.problem = "; ".join(issue.diagnostics for issue in error.issues)[:300]
    instalment.save(update_fields=["status", "problem", "attempts", "charge"])
    if not plan.instalments.exclude(status=Instalment.PAID).exists():
        PaymentPlan.objects.filter(pk=plan.pk).update(status=PaymentPlan.COMPLETED)
    return instalment


def charge_due_instalments(context: Context | None = None, today: dt.date | None = None) -> dict[str, int]:
    """Charge every instalment due by `today` (and missed ones not yet tried `ATTEMPTS` times): counts by outcome."""
    context = context or Context.system("payment plans")
    today = today or practice.today()
    due = (Instalment.objects.filter(plan__status=PaymentPlan.ACTIVE, due__lte=today, attempts__lt=ATTEMPTS)
           .exclude(status=Instalment.PAID).exclude(last_attempt=today).order_by("due", "pk")
           .values_list("pk", flat=True))
    counts = {"paid": 0, "missed": 0}
    for instalment_id in list(due):
        try:
            outcome = charge_instalment(context, instalment_id, today, once_a_day=True)
        except InvalidRequest:  # taken by another run meanwhile
            continue
        counts["paid" if outcome.status == Instalment.PAID else "missed"] += 1
    return counts
