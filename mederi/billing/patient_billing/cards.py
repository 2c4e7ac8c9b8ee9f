"""Card payments through the gateway: take a payment, keep a card on file, refund to the card.

The card number and security code go from the browser to the gateway and never reach this server
(gateway.py): a payment names the gateway's token, and the brand, last four digits and expiry are
asked of the gateway. The practice keeps the token with those (`StoredCard`), and each attempt as a `CardCharge` (written before the gateway is asked,
so a charge whose answer was lost is known and asked again with the same idempotency key). A charge
the gateway took becomes a desk payment (`payments.collect_payment`: receipt, ledger, audit); a
refund goes back to the same card and is posted as a card refund to the ledger.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from mederi.audit import services as audit
from mederi.billing import practice
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import as_cents
from mederi.billing.models import PatientPayment
from mederi.billing.payments import collect_payment, parse_amount
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, MederiError
from mederi.fhir.repository import Repository

from .gateway import CardToken, Declined, GatewayError, gateway
from .models import CardCharge, StoredCard

COLLECT = "payments.collect"


def _who(context: Context) -> str:
    return context.user_name or audit.actor_name(context)


def _card(token: str) -> CardToken:
    """What the gateway says the browser's token stands for; a token it does not know is a card to type again."""
    try:
        return gateway().card_of(token.strip())
    except GatewayError as error:
        if error.code == "token_unknown":
            raise InvalidRequest.single("The card details did not reach the payment gateway: type the card "
                                        "again.", expression="number") from None
        raise MederiError.single(f"The card could not be checked: {error}. Nothing was charged; try again.") from None


def save_card(context: Context, patient_id: str, token_text: str, holder: str = "") -> StoredCard:
    """Keep a card on file for the patient (the gateway's token): for a payment plan's instalments."""
    context.require(COLLECT, "your roles do not allow taking card payments")
    Repository(context).read("Patient", patient_id)
    token = _card(token_text)
    if card_expired(token, practice.today()):
        raise InvalidRequest.single(f"the card expired at the end of {token.exp_month:02d}/{token.exp_year}: ask "
                                    "for another card", expression="number")
    with transaction.atomic():
        card = StoredCard.objects.create(patient_id=patient_id, token=token.token, brand=token.brand,
                                         last4=token.last4, exp_month=token.exp_month, exp_year=token.exp_year,
                                         holder=holder.strip()[:100], created_by=_who(context))
        audit.record(context, "create", patient_id=patient_id, resource_type="StoredCard", resource_ids=[str(card.pk)],
                     detail={"brand": card.brand, "last4": card.last4})
    return card


def pay_by_card(context: Context, patient_id: str, amount, *, card: StoredCard | None = None, token: str = "",
                kind: str = PatientPayment.BALANCE) -> CardCharge:
    """Charge a card (on file, or the gateway's token for one typed now) and post the payment; a decline
    raises with what to do next."""
    context.require(COLLECT, "your roles do not allow taking card payments")
    amount = parse_amount(amount)
    Repository(context).read("Patient", patient_id)
    if card is not None and (card.patient_id != patient_id or not card.active):
        raise InvalidRequest.single("that card is not on file for this patient", expression="card")
    if card is None:
        if not token.strip():
            raise InvalidRequest.single("type the card's number, expiry and security code, or choose a card on "
                                        "file", expression="number")
        typed = _card(token)
        brand, last4, token_text = typed.brand, typed.last4, typed.token
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


def card_expired(card: StoredCard | CardToken, on: dt.date) -> bool:
    return (card.exp_year, card.exp_month) < (on.year, on.month)
