"""The patient billing demo: a plan paying, a plan with a missed instalment, statements for everyone owing."""

from __future__ import annotations

from decimal import Decimal

from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.tests.conftest import patient

from .. import demo
from ..models import Instalment, PaymentPlan, Statement
from .conftest import TODAY


def test_the_demo_sets_up_plans_and_statements_once(owing, gateway):
    patient(demo.SELF_PAY_PATIENT, "Lindqvist", "Erik", "2016-10-30", "male")
    message = demo.load_demo(TODAY)
    assert "plan of 150.00 for Patient/demo-pat-4 (first instalment paid)" in message
    assert "plan of 20.00 for Patient/pat-jane (first instalment missed)" in message
    assert "2 statements" in message
    assert ledger_selectors.balance_of("patient:demo-pat-4") == Decimal("100.00")
    missed = Instalment.objects.get(status=Instalment.MISSED)
    assert missed.plan.patient_id == "pat-jane" and "declined" in missed.problem
    assert demo.load_demo(TODAY) == "patient billing demo: already in place"
    assert PaymentPlan.objects.count() == 2 and Statement.objects.count() == 2
