"""Copays and other payments taken at the desk: posted once, audited, never silently changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.accounts.context import context_for_user
from mederi.audit.models import AuditEntry
from mederi.billing import payments
from mederi.billing.models import PatientPayment
from mederi.billing.selectors import payments_for_appointment
from mederi.conftest import staff_user
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit():
    repo = Repository(Context.system())
    repo.create({"resourceType": "Patient", "name": [{"family": "Moreno"}]}, logical_id="p1")
    repo.create({"resourceType": "Patient", "name": [{"family": "Other"}]}, logical_id="p2")
    repo.create({"resourceType": "Appointment", "status": "booked", "start": "2026-12-01T15:00:00Z",
                 "end": "2026-12-01T15:20:00Z",
                 "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}]}, logical_id="a1")


@pytest.fixture
def desk(visit):
    return context_for_user(staff_user("desk", "front_desk"))


def test_a_copay_is_posted_with_a_receipt_and_an_audit_entry(desk):
    payment = payments.collect_payment(desk, "p1", "$25.00", "card", appointment_id="a1", reference="4242")
    assert payment.amount == Decimal("25.00") and payment.receipt_number.startswith("R")
    assert [p.receipt_number for p in payments_for_appointment("a1")] == [payment.receipt_number]
    entry = AuditEntry.objects.get(resource_type="PatientPayment")
    assert (entry.action, entry.patient_id, entry.actor_name) == ("create", "p1", "desk")
    assert '"amount":"25.00"' in entry.detail
    second = payments.collect_payment(desk, "p1", "10", "cash")
    assert second.receipt_number != payment.receipt_number


@pytest.mark.parametrize("amount, message", [
    ("", "enter the amount"), ("twenty", "is not an amount of money"), ("-5", "is not an amount"),
    ("0", "more than zero"), ("12.345", "two digits"), ("25000", "cannot be taken at the desk"),
])
def test_a_bad_amount_is_refused_at_the_field_and_nothing_is_posted(desk, amount, message):
    with pytest.raises(InvalidRequest) as refused:
        payments.collect_payment(desk, "p1", amount, "card")
    assert message in str(refused.value) and refused.value.issues[0].expression == "amount"
    assert PatientPayment.objects.count() == 0 and not AuditEntry.objects.filter(resource_type="PatientPayment")


def test_every_problem_is_named_at_once(desk):
    with pytest.raises(InvalidRequest) as refused:
        payments.collect_payment(desk, "p1", "abc", "bitcoin", reference="x" * 61)
    assert {i.expression for i in refused.value.issues} == {"amount", "method", "reference"}


def test_an_appointment_of_another_patient_is_refused(desk):
    with pytest.raises(InvalidRequest, match="not an appointment of this patient"):
        payments.collect_payment(desk, "p2", "25", "cash", appointment_id="a1")
    assert PatientPayment.objects.count() == 0


def test_only_roles_that_take_payments_may(visit):
    nurse = context_for_user(staff_user("nurse1", "nurse"))
    with pytest.raises(Forbidden):
        payments.collect_payment(nurse, "p1", "25", "cash")
    assert PatientPayment.objects.count() == 0


def test_a_void_keeps_the_posting_and_says_why(desk):
    payment = payments.collect_payment(desk, "p1", "25", "cash")
    with pytest.raises(InvalidRequest, match="say why"):
        payments.void_payment(desk, payment.receipt_number, "")
    payments.void_payment(desk, payment.receipt_number, "taken twice by mistake")
    stored = PatientPayment.objects.get()
    assert stored.voided_at is not None and stored.void_reason == "taken twice by mistake"
    with pytest.raises(InvalidRequest, match="already voided"):
        payments.void_payment(desk, payment.receipt_number, "again")


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2))
def test_amounts_as_people_write_them_read_back_exactly(value):
    written = f"${value:,.2f}"
    assert payments.parse_amount(written) == value
    assert payments.parse_amount(str(value)) == value
