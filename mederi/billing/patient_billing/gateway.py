"""The card payment gateway, behind one small interface.

`gateway()` gives the configured `PaymentGateway`: `HttpGateway` speaks the gateway's JSON API over
HTTPS (`MEDERI_PAYMENT_GATEWAY_URL`, secret key `MEDERI_PAYMENT_GATEWAY_KEY` sent as a bearer
token). Without a URL this process's stand-in gateway (`standin.local_url()`) is used, so an
unconfigured installation never charges a real card.

The API, as the stand-in speaks it (amounts in cents, JSON bodies):

- `POST /v1/tokens` {"card": {number, exp_month, exp_year, cvc, name}} -> {"token", "brand", "last4",
  "exp_month", "exp_year"}: the card stays with the gateway; the practice keeps the token.
- `POST /v1/charges` {"token", "amount", "currency", "capture", "description"} with an
  `Idempotency-Key` header -> {"id", "status": "authorized" | "captured", "amount"}; a decline is HTTP
  402 {"error": {"code": "card_declined", "decline_code", "message"}, "id", "status": "declined"}.
- `POST /v1/charges/<id>/capture` {"amount"} -> {"id", "status": "captured", ...}
- `POST /v1/charges/<id>/refunds` {"amount"} -> {"id", "charge", "amount", "status": "succeeded"}.

Errors: `Declined` (the card or the bank said no: a person can act on the message), `GatewayError`
(the gateway refused the request or could not be reached; `delivered` says whether the request
may have arrived, in which case it is asked again with the same idempotency key, never anew).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

import requests
from django.conf import settings
from urllib3.exceptions import NewConnectionError

TIMEOUT = (5, 30)  # seconds to connect, seconds to wait for the answer
# What a decline code means to the person at the desk.
DECLINE_WORDS = {
    "insufficient_funds": "the card has insufficient funds",
    "expired_card": "the card has expired",
    "incorrect_cvc": "the security code (CVC) is wrong",
    "lost_card": "the card was reported lost",
    "stolen_card": "the card was reported stolen",
    "do_not_honor": "the bank declined it without a reason",
    "generic_decline": "the bank declined it without a reason",
    "invalid_number": "the card number is not valid",
}


class Declined(Exception):
    def __init__(self, code: str, message: str, charge_id: str = ""):
        self.code, self.charge_id = code, charge_id
        super().__init__(message)


class GatewayError(Exception):
    def __init__(self, message: str, *, delivered: bool = False):
        self.delivered = delivered
        super().__init__(message)


@dataclass(frozen=True)
class CardToken:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class Charge:
    id: str
    status: str  # "authorized" or "captured"
    amount_cents: int


class PaymentGateway(Protocol):
    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str, name: str) -> CardToken: ...

    def authorize(self, token: str, amount_cents: int, *, key: str, description: str = "") -> Charge: ...

    def capture(self, charge_id: str, amount_cents: int) -> Charge: ...

    def refund(self, charge_id: str, amount_cents: int, *, key: str) -> str: ...


def decline_message(code: str, fallback: str = "") -> str:
    reason = DECLINE_WORDS.get(code) or fallback or "the bank declined it"
    return f"The card was declined: {reason}. Ask for another card or another way to pay."


class HttpGateway:
    def __init__(self, url: str, key: str = ""):
        self.url, self.key = url.rstrip("/"), key

    def __repr__(self) -> str:
        return f"HttpGateway({self.url})"

    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str, name: str) -> CardToken:
        body = self._post("/v1/tokens", {"card": {"number": number, "exp_month": exp_month, "exp_year": exp_year,
                                                  "cvc": cvc, "name": name}})
        return CardToken(body["token"], body["brand"], body["last4"], int(body["exp_month"]), int(body["exp_year"]))

    def authorize(self, token: str, amount_cents: int, *, key: str, description: str = "") -> Charge:
        body = self._post("/v1/charges", {"token": token, "amount": amount_cents, "currency": "usd", "capture": False,
                                          "description": description}, key=key)
        return Charge(body["id"], body["status"], int(body["amount"]))

    def capture(self, charge_id: str, amount_cents: int) -> Charge:
        body = self._post(f"/v1/charges/{charge_id}/capture", {"amount": amount_cents}, key=f"capture-{charge_id}")
        return Charge(body["id"], body["status"], int(body["amount"]))

    def refund(self, charge_id: str, amount_cents: int, *, key: str) -> str:
        return self._post(f"/v1/charges/{charge_id}/refunds", {"amount": amount_cents}, key=key)["id"]

    def _post(self, path: str, payload: dict, key: str = "") -> dict:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        if key:
            headers["Idempotency-Key"] = key
        try:
            response = requests.post(self.url + path, json=payload, headers=headers, timeout=TIMEOUT)
        except requests.ConnectTimeout:
            raise GatewayError(f"the payment gateway at {self.url} did not take the connection") from None
        except requests.ConnectionError as error:
            reason = getattr(error.args[0], "reason", None) if error.args else None
            if isinstance(reason, NewConnectionError):
                raise GatewayError(f"the payment gateway at {self.url} could not be reached") from None
            raise GatewayError("the connection to the payment gateway broke before it answered",
                               delivered=True) from None
        except requests.Timeout:
            raise GatewayError(f"the payment gateway did not answer within {TIMEOUT[1]} s", delivered=True) from None
        try:
            body = response.json()
        except ValueError:
            raise GatewayError(f"the payment gateway answered HTTP {response.status_code} with something that is "
                               "not JSON", delivered=response.status_code >= 500) from None
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code == 402 and error:
            code = error.get("decline_code") or error.get("code") or ""
            raise Declined(code, decline_message(code, error.get("message", "")), body.get("id", ""))
        if response.status_code >= 400 or error:
            message = (error or {}).get("message") or f"HTTP {response.status_code}"
            raise GatewayError(f"the payment gateway refused the request: {message}",
                               delivered=response.status_code >= 500)
        return body


def configured_url() -> str:
    return getattr(settings, "MEDERI_PAYMENT_GATEWAY_URL", "") or os.environ.get("MEDERI_PAYMENT_GATEWAY_URL", "")


def uses_standin() -> bool:
    return not configured_url()


def gateway() -> PaymentGateway:
    from mederi.billing.patient_billing import standin

    url = configured_url()
    if url:
        key = getattr(settings, "MEDERI_PAYMENT_GATEWAY_KEY", "") or os.environ.get("MEDERI_PAYMENT_GATEWAY_KEY", "")
        return HttpGateway(url, key)
    return HttpGateway(standin.local_url(), standin.LOCAL_KEY)
