"""The FHIR side of a remittance: a ClaimResponse per claim payment and a PaymentReconciliation per check/EFT."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from mederi.billing.x12.remittance import Adjustment, ClaimPayment, Remittance
from mederi.core import clock, systems

ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/payment-type"


def stable_id(*parts: str) -> str:
    """A logical id made from what identifies the thing, so writing it twice names the same resource."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


CENT = Decimal("0.01")


def _money(value: Decimal) -> dict:
    return {"value": Decimal(value).quantize(CENT), "currency": "USD"}


def _category(code: str) -> dict:
    return {"coding": [{"system": ADJUDICATION, "code": code}]}


def _adjustment(adjustment: Adjustment) -> dict:
    return {"category": {"coding": [{"system": systems.CLAIM_ADJUSTMENT_GROUP, "code": adjustment.group}]},
            "reason": {"coding": [{"system": systems.CARC, "code": adjustment.reason}]},
            "amount": _money(adjustment.amount)}


def _insurer(payer_id: str, payer_name: str) -> dict:
    return {"reference": f"Organization/{payer_id}"} if payer_id else {"display": payer_name or "unknown payer"}


def claim_response(remittance: Remittance, payment: ClaimPayment, *, claim_id: str, patient_id: str, payer_id: str,
                   line_sequences: list[int | None], claim_status: str | None = None, created: str = "") -> dict:
    """The payer's answer to one Claim as read from an 835 CLP loop, with the status it gives the Claim;
    `created` is when it was posted (now, unless given)."""
    items = []
    header = [_adjustment(a) for a in payment.adjustments]
    for line, sequence in zip(payment.lines, line_sequences, strict=True):
        adjudication = [{"category": _category("submitted"), "amount": _money(line.charge)},
                        {"category": _category("benefit"), "amount": _money(line.paid)}]
        if line.allowed is not None:
            adjudication.append({"category": _category("eligible"), "amount": _money(line.allowed)})
        adjudication += [_adjustment(a) for a in line.adjustments]
        if sequence is None:  # a line we could not place stays on the claim's own adjudication
            header += adjudication[1:]
            continue
        items.append({"itemSequence": sequence, "adjudication": adjudication})
    resource = {
        "resourceType": "ClaimResponse", "status": "active",
        **({"extension": [{"url": systems.CLAIM_STATUS, "valueCode": claim_status}]} if claim_status else {}),
        "identifier": [{"system": systems.REMITTANCE_TRACE,
                        "value": f"{remittance.trace_number}/{payment.claim_number}/{payment.status}"}],
        "type": {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]}, "use": "claim",
        "patient": {"reference": f"Patient/{patient_id}"}, "created": created or clock.now().isoformat(),
        "insurer": _insurer(payer_id, remittance.payer_name), "request": {"reference": f"Claim/{claim_id}"},
        "outcome": "complete", "disposition": payment.status_text[:200],
        "total": [{"category": _category("submitted"), "amount": _money(payment.charge)},
                  {"category": _category("benefit"), "amount": _money(payment.paid)}],
        "payment": {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-paymenttype",
                                         "code": "complete"}]},
                    "amount": _money(payment.paid),
                    "identifier": {"system": systems.REMITTANCE_TRACE, "value": remittance.trace_number}},
    }
    if remittance.paid_on:
        resource["payment"]["date"] = remittance.paid_on.isoformat()
    if items:
        resource["item"] = items
    if header:
        resource["adjudication"] = header
    remarks = payment.remarks + [r for line in payment.lines for r in line.remarks]
    if remarks:
        resource["processNote"] = [{"number": n, "type": "print", "text": f"Remark {code}"}
                                   for n, code in enumerate(remarks, start=1)]
    return resource


def payment_reconciliation(remittance: Remittance, *, payer_id: str, details: list[tuple[str, str, Decimal]]) -> dict:
    """The check or EFT of an 835: its amount, date and trace number, with one detail per claim response."""
    paid_on = remittance.paid_on or remittance.produced_on or clock.now().date()
    resource = {
        "resourceType": "PaymentReconciliation", "status": "active",
        "identifier": [{"system": systems.REMITTANCE_TRACE, "value": remittance.trace_number}],
        "created": clock.now().isoformat(), "paymentDate": paid_on.isoformat(),
        "paymentAmount": _money(remittance.total), "paymentIdentifier": {"system": systems.REMITTANCE_TRACE,
                                                                          "value": remittance.trace_number},
        "paymentIssuer": _insurer(payer_id, remittance.payer_name), "outcome": "complete",
        "disposition": f"{remittance.method or 'payment'} from {remittance.payer_name or 'the payer'}"[:200],
    }
    if details:
        resource["detail"] = [
            {"type": {"coding": [{"system": PAYMENT_TYPE, "code": "payment"}]},
             "request": {"reference": f"Claim/{claim_id}"}, "response": {"reference": f"ClaimResponse/{response_id}"},
             "amount": _money(amount)} for claim_id, response_id, amount in details]
    return resource
