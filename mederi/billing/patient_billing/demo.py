"""Patient billing in the demo practice: a payment plan, a missed instalment, and a statement run.

After the remittance demo has left coinsurance with a patient, Erik Lindqvist (demo-pat-4, whose
mother is his guarantor) is given a self-pay visit (a sports physical the plan does not cover,
150.00), paid in three monthly instalments charged to a Visa on file, the first today; the patient
with the coinsurance put a card on file that the stand-in gateway declines, so the first
instalment of that plan shows as missed. Then
a statement run makes a statement for everyone who owes. The cards go through the stand-in
gateway (test card numbers; no money moves). Safe to run again: nothing is made twice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import Account, Transaction
from mederi.core.context import Context
from mederi.core.errors import MederiError

from . import cards, plans, statements
from .gateway import tokenize_as_a_browser
from .models import PaymentPlan, StatementRun

SELF_PAY_PATIENT = "demo-pat-4"
SELF_PAY = Decimal("150.00")


def _plan(context: Context, patient_id: str, card_number: str, months: int, today: dt.date) -> str:
    balance = ledger_selectors.balance_of(ledger.patient_account(patient_id))
    if balance < Decimal("2.00") or PaymentPlan.objects.filter(patient_id=patient_id).exists():
        return ""
    token = tokenize_as_a_browser(card_number, 12, today.year + 3, "123")  # as typed on the payment page
    card = cards.save_card(context, patient_id, token.token)
    plan = plans.create_plan(context, patient_id, balance, months, today, card.pk)
    outcome = plans.charge_instalment(context, plan.instalments.get(number=1).pk, today)
    return f"plan of {plan.total} for Patient/{patient_id} (first instalment {outcome.status})"


def load_demo(today: dt.date | None = None) -> str:
    context = Context.system("demo")
    today = today or dt.date.today()
    done = []
    visit_day = today - dt.timedelta(days=12)
    ledger.post(ledger.Draft(Transaction.CHARGE, "demo", SELF_PAY_PATIENT, [
        ledger.Entry(ledger.patient_account(SELF_PAY_PATIENT), SELF_PAY, visit_day),
        ledger.Entry(ledger.REVENUE, -SELF_PAY, visit_day)], source_key=f"demo-self-pay:{SELF_PAY_PATIENT}",
        memo="sports physical, self-pay (not covered by the plan)", effective_date=visit_day))
    try:
        done.append(_plan(context, SELF_PAY_PATIENT, "4242424242424242", 3, today))
        coinsurance = (Account.objects.filter(kind=Account.PATIENT, balance_cents__gt=0)
                       .exclude(party_id=SELF_PAY_PATIENT).order_by("party_id").first())
        if coinsurance:
            done.append(_plan(context, coinsurance.party_id, "4000000000000002", 2, today))
    except MederiError as error:
        done.append("payment plans not set up: " + "; ".join(i.diagnostics for i in error.issues))
    if not StatementRun.objects.exists() and statements.patients_owing():
        run = statements.make_run(statements.start_run(context, "1.00", today, queue=False).pk, context)
        done.append(f"{run.made} statements")
    done = [line for line in done if line]
    return "patient billing demo: " + ("; ".join(done) if done else "already in place")
