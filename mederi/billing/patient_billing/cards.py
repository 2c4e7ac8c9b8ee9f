"""Card payments through the gateway: take a payment, keep a card on file, refund to the card.

The card number and security code go from the form to the gateway and nowhere else: they are not
stored, logged or audited; the practice keeps the gateway's token with the brand, last four digits
and expiry (`StoredCard`), and each attempt as a `CardCharge` (written before the gateway is asked,
so a charge whose answer was lost is known and asked again with the same idempotency key). A charge
the gateway took becomes a desk payment (`payments.collect_payment`: receipt, ledger, audit); a
refund goes back to the same card and is posted as a card refund to the ledger.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction

from mederi.audit import services as audit
from mederi.billing import practice
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import as_cents
from mederi.billing.models import PatientPayment
from mederi.billing.payments import collect_payment, parse_amount
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError
from mederi.fhir.repository import Repository

from .gateway import CardToken, Declined, GatewayError, gateway
from .models import CardCharge, StoredCard

COLLECT = "payments.collect"


def _who(context: Context) -> str:
    return context.user_name or audit.actor_name(context)


def check_card_fields(number: str, expiry: str, cvc: str) -> tuple[str, int, int, str]:
    """(digits, month, year, cvc) of what was typed, or InvalidRequest naming each field to fix."""
    problems = []
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        problems.append(Issue("enter the card number: 12 to 19 digits, spaces allowed", expression="number"))
    found = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", expiry or "")
    month = year = 0
    if not found or not 1 <= int(found.group(1)) <= 12:
        problems.append(Issue("write the expiry as MM/YY, e.g. 04/29", expression="expiry"))
    else:
        month, year = int(found.group(1)), int(found.group(2))
        year += 2000 if year < 100 else 0
        today = practice.today()
        if (year, month) < (today.year, today.month):
            problems.append(Issue(f"the card expired at the end of {month:02d}/{year}: ask for another card",
                                  expression="expiry"))
    cvc = (cvc or "").strip()
    if not re.fullmatch(r"\d{3,4}", cvc):
        problems.append(Issue("the security code is the 3 or 4 digits on the card", expression="cvc"))
    if problems:
        raise InvalidRequest(problems)
    return digits, month, year, cvc


def _tokenize(number: str, expiry: str, cvc: str, holder: str) -> CardToken:
    digits, month, year, cvc = check_card_fields(number, expiry, cvc)
    try:
        return gateway().tokenize(digits, month, year, cvc, holder.strip()[:100])
    except Declined as decline:
        raise InvalidRequest.single(str(decline), expression="number") from None
    except GatewayError as error:
        raise MederiError.single(f"The card could not be checked: {error}. Nothing was charged; try again.") from None


def save_card(context: Context, patient_id: str, number: str, expiry: str, cvc: str, holder: str = "") -> StoredCard:
    """Keep a card on file for the patient (its token): for a payment plan's instalments."""
    context.require(COLLECT, "your roles do not allow taking card payments")
    Repository(context).read("Patient", patient_id)
    token = _tokenize(number, expiry, cvc, holder)
    with transaction.atomic():
        card = StoredCard.objects.create(patient_id=patient_id, token=token.token, brand=token.brand,
                                         last4=token.last4, exp_month=token.exp_month, exp_year=token.exp_year,
                                         holder=holder.strip()[:100], created_by=_who(context))
        audit.record(context, "create", patient_id=patient_id, resource_type="StoredCard", resource_ids=[str(card.pk)],
                     detail={"brand": card.brand, "last4": card.last4})
    return card


def pay_by_card(context: Context, patient_id: str, amount, *, card: StoredCard | None = None, number: str = "",
                expiry: str = "", cvc: str = "", holder: str = "", kind: str = PatientPayment.BALANCE) -> CardCharge:
    """Charge a card (on file, or typed now) and post the payment; a decline raises with what to do next."""
    context.require(COLLECT, "your roles do not allow taking card payments")
    amount = parse_amount(amount)
    Repository(context).read("Patient", patient_id)
    if card is not None and (card.patient_id != patient_id or not card.active):
        raise InvalidRequest.single("that card is not on file for this patient", expression="card")
    if card is None:
        token = _tokenize(number, expiry, cvc, holder)
        brand, last4, token_text = token.brand, token.last4, token.token
    else:
        brand, last4, token_text = card.brand, card.last4, card.token
    charge = CardCharge.objects.create(patient_id=patient_id, amount_cents=as_cents(amount), brand=brand,
                                       last4=last4, card=card, created_by=_who(context))
    return _charge(context, charge, token_text, kind)


def _charge(context: Context, charge: CardCharge, token: str, kind: str) -> CardCharge:
    """Authorise then capture; the outcome is recorded on `charge` whatever it is."""
    try:
        authorised = gateway().authorize(token, charge.amount_cents, key=str(charge.key),
                                         description=f"Patient/{charge.patient_id}")
        captured = gateway().capture(authorised.id, charge.amount_cents) if authorised.status != "captured" \
            else authorised
    except Declined as decline:
        charge.status, charge.gateway_id, charge.message = CardCharge.DECLINED, decline.charge_id, str(decline)[:300]
        charge.save(update_fields=["status", "gateway_id", "message"])
        audit.record(context, "create", patient_id=charge.patient_id, resource_type="CardCharge",
                     resource_ids=[str(charge.pk)], detail={"declined": decline.code, "amount": str(charge.amount)})
        raise InvalidRequest.single(str(decline), expression="card") from None
    except GatewayError as error:
        charge.status = CardCharge.PENDING if error.delivered else CardCharge.FAILED
        charge.message = str(error)[:300]
        charge.save(update_fields=["status", "message"])
        raise MederiError.single(f"The card payment did not go through: {error}. "
                                 + ("It may have reached the gateway: check before charging again."
                                    if error.delivered else "Nothing was charged; try again.")) from None
    with transaction.atomic():
        payment = collect_payment(context, charge.patient_id, charge.amount, PatientPayment.CARD, kind=kind,
                                  reference=f"{charge.brand} ending {charge.last4} {captured.id}"[:60])
        charge.status, charge.gateway_id, charge.receipt_number = CardCharge.CAPTURED, captured.id, \
            payment.receipt_number
        charge.message = ""
        charge.save(update_fields=["status", "gateway_id", "receipt_number", "message"])
    return charge


def refund_to_card(context: Context, charge_id: int, amount, note: str = "") -> CardCharge:
    """Give money back to the card a payment came from, and post the refund to the patient's account."""
    ledger.require_posting(context)
    amount = parse_amount(amount)
    with transaction.atomic():
        charge = CardCharge.objects.select_for_update().filter(pk=charge_id).first()
        if charge is None or charge.status != CardCharge.CAPTURED:
            raise InvalidRequest.single("there is no card payment with that number to refund", expression="charge")
        if amount > charge.refundable:
            raise InvalidRequest.single(f"at most {charge.refundable} of this payment is left to refund",
                                        expression="amount")
        try:
            refund_id = gateway().refund(charge.gateway_id, as_cents(amount),
                                         key=f"refund-{charge.key}-{charge.refunded_cents}")
        except (Declined, GatewayError) as error:
            raise MederiError.single(f"The refund did not go through: {error}. Nothing was posted.") from None
        charge.refunded_cents += as_cents(amount)
        charge.save(update_fields=["refunded_cents"])
        ledger.refund(context, charge.patient_id, amount, "card",
                      f"to {charge.brand} ending {charge.last4}, {refund_id}. {note}".strip())
    return charge


def card_expired(card: StoredCard, on: dt.date) -> bool:
    return (card.exp_year, card.exp_month) < (on.year, on.month)
