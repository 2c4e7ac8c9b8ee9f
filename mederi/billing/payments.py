"""Money taken from patients at the desk: a copay at check-in, a prepayment, a balance.

Each payment is a posting in `PatientPayment`, with a receipt number, a ledger transaction (cash
in, the patient's account credited) and an entry in the audit log. Postings are never changed: a mistake is voided with a reason and stays on record, so the
day's takings can always be reconciled with the drawer and the card terminal.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.db import transaction

from mederi.audit import services as audit
from mederi.billing.ledger import services as ledger
from mederi.billing.models import ControlNumber, PatientPayment
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError
from mederi.fhir.repository import Repository

PERMISSION = "payments.collect"
LARGEST = Decimal("10000.00")  # more than this at a front desk is a typing mistake
_AMOUNT = re.compile(r"\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")


def parse_amount(text) -> Decimal:
    """"25", "$25.00", "1,234.5" -> Decimal with cents; anything else is refused with the reason."""
    if isinstance(text, Decimal):
        raw = text
    else:
        cleaned = str(text or "").strip()
        if not cleaned:
            raise InvalidRequest.single("enter the amount taken, e.g. 25.00", expression="amount")
        if not _AMOUNT.fullmatch(cleaned):
            raise InvalidRequest.single(f"'{cleaned}' is not an amount of money: write it like 25 or 25.50",
                                        expression="amount")
        try:
            raw = Decimal(cleaned.lstrip("$").strip().replace(",", ""))
        except InvalidOperation:  # the pattern admits only numbers; kept for safety
            raise InvalidRequest.single(f"'{cleaned}' is not an amount of money", expression="amount") from None
    if raw != raw.quantize(Decimal("0.01")):
        raise InvalidRequest.single("an amount has at most two digits after the point", expression="amount")
    if raw <= 0:
        raise InvalidRequest.single("the amount must be more than zero", expression="amount")
    if raw > LARGEST:
        raise InvalidRequest.single(f"more than {LARGEST:,} cannot be taken at the desk; check the amount",
                                    expression="amount")
    return raw.quantize(Decimal("0.01"))


def _require(context: Context) -> None:
    context.require(PERMISSION, "your roles do not allow taking payments from patients")


def _receipt_number() -> str:
    return f"R{clock.now():%y%m%d}-{ControlNumber.next('receipt'):06d}"


def collect_payment(context: Context, patient_id: str, amount, method: str, *, kind: str = PatientPayment.COPAY,
                    appointment_id: str = "", reference: str = "") -> PatientPayment:
    """Record money taken from a patient; returns the posting with its receipt number."""
    _require(context)
    problems = []
    try:
        amount = parse_amount(amount)
    except MederiError as error:
        problems += error.issues
    if method not in dict(PatientPayment.METHODS):
        problems.append(Issue("choose how the patient paid: card, cash, check or other", expression="method"))
    if kind not in dict(PatientPayment.KINDS):
        problems.append(Issue(f"'{kind}' is not a kind of payment", expression="kind"))
    reference = (reference or "").strip()
    if len(reference) > 60:
        problems.append(Issue("keep the reference to 60 characters (a check number, a card's last four digits)",
                              expression="reference"))
    if problems:
        raise InvalidRequest(problems)
    repository = Repository(context)
    repository.read("Patient", patient_id)  # exists, and the caller may see this chart
    if appointment_id:
        appointment = repository.read("Appointment", appointment_id).as_dict()
        patients = {p.get("actor", {}).get("reference") for p in appointment.get("participant", [])}
        if f"Patient/{patient_id}" not in patients:
            raise InvalidRequest.single(f"Appointment/{appointment_id} is not an appointment of this patient",
                                        expression="appointment")
    with transaction.atomic():
        payment = PatientPayment.objects.create(
            receipt_number=_receipt_number(), patient_id=patient_id, appointment_id=appointment_id or "",
            kind=kind, amount=amount, method=method, reference=reference, location_id=context.location_id or "",
            received_by=context.user_name or audit.actor_name(context))
        ledger.post_patient_payment(payment)
        audit.record(context, "create", patient_id=patient_id, resource_type="PatientPayment",
                     resource_ids=[payment.receipt_number],
                     detail={"amount": str(amount), "method": method, "kind": kind, "appointment": appointment_id})
    return payment


def void_payment(context: Context, receipt_number: str, reason: str) -> PatientPayment:
    """Mark a payment taken by mistake as void; it stays on record with the reason."""
    _require(context)
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidRequest.single("say why the payment is void (at least 5 characters)", expression="reason")
    with transaction.atomic():
        payment = PatientPayment.objects.select_for_update().filter(receipt_number=receipt_number).first()
        if payment is None:
            raise InvalidRequest.single(f"there is no payment with receipt {receipt_number}")
        if payment.voided_at is not None:
            raise InvalidRequest.single(f"receipt {receipt_number} was already voided")
        payment.voided_at, payment.void_reason = clock.now(), reason[:200]
        payment.save(update_fields=["voided_at", "void_reason"])
        ledger.reverse_patient_payment(payment, payment.void_reason)
        audit.record(context, "update", patient_id=payment.patient_id, resource_type="PatientPayment",
                     resource_ids=[receipt_number], detail={"voided": True, "reason": payment.void_reason})
    return payment
