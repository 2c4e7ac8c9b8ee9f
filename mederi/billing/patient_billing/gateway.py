"""The card payment gateway, behind one small interface.

Card numbers never reach the practice's server: the payment page's script sends what was typed
straight from the browser to the gateway's token endpoint with the gateway's publishable key and
posts the practice only the token it got back. The server then asks the gateway, with its secret
key, what card that token stands for (brand, last four digits, expiry) and charges the token.

`gateway()` gives the configured `PaymentGateway`: `HttpGateway` speaks the gateway's JSON API over
HTTPS (`MEDERI_PAYMENT_GATEWAY_URL`, secret key `MEDERI_PAYMENT_GATEWAY_KEY` sent as a bearer
token); `browser_gateway()` is the address and publishable key the payment page gives the browser
(`MEDERI_PAYMENT_GATEWAY_BROWSER_URL`, default the same URL, and
`MEDERI_PAYMENT_GATEWAY_PUBLISHABLE_KEY`). Without a URL this process's stand-in gateway
(`standin.local_url()`) is used, so an unconfigured installation never charges a real card.

The API, as the stand-in speaks it (amounts in cents, JSON bodies):

- `POST /v1/tokens` {"card": {number, exp_month, exp_year, cvc, name}} with the publishable key,
  from the browser (CORS) -> {"token", "brand", "last4", "exp_month", "exp_year"}.
- `GET /v1/tokens/<token>` -> the same, without the number: what the server may know of the card.
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
import re
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
    def __init__(self, message: str, *, delivered: bool = False, code: str = ""):
        self.delivered, self.code = delivered, code
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
    def card_of(self, token: str) -> CardToken: ...

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
        """What the payment page's script does in the browser (with the publishable key); the server never
        calls it. Card readers and tests use it to stand where the browser stands."""
        return _card_token(self._post("/v1/tokens", {"card": {"number": number, "exp_month": exp_month,
                                                              "exp_year": exp_year, "cvc": cvc, "name": name}}))

    def card_of(self, token: str) -> CardToken:
        if not re.fullmatch(r"[A-Za-z0-9_]{1,100}", token or ""):
            raise GatewayError("the card token is malformed", code="token_unknown")
        return _card_token(self._send("GET", f"/v1/tokens/{token}"))

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
        return self._send("POST", path, payload, key)

    def _send(self, method: str, path: str, payload: dict | None = None, key: str = "") -> dict:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        if key:
            headers["Idempotency-Key"] = key
        try:
            response = requests.request(method, self.url + path, json=payload, headers=headers, timeout=TIMEOUT)
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
                               delivered=response.status_code >= 500, code=(error or {}).get("code", ""))
        return body


def _card_token(body: dict) -> CardToken:
    return CardToken(body["token"], body["brand"], body["last4"], int(body["exp_month"]), int(body["exp_year"]))


def configured_url() -> str:
    return _setting("MEDERI_PAYMENT_GATEWAY_URL")


def uses_standin() -> bool:
    return not configured_url()


def gateway() -> PaymentGateway:
    from mederi.billing.patient_billing import standin

    url = configured_url()
    if url:
        return HttpGateway(url, _setting("MEDERI_PAYMENT_GATEWAY_KEY"))
    return HttpGateway(standin.local_url(), standin.LOCAL_KEY)


def _setting(name: str) -> str:
    return getattr(settings, name, "") or os.environ.get(name, "")


def browser_gateway() -> tuple[str, str]:
    """(address, publishable key) of the gateway as the payment page's script reaches it."""
    from mederi.billing.patient_billing import standin

    url = configured_url()
    if url:
        return (_setting("MEDERI_PAYMENT_GATEWAY_BROWSER_URL") or url).rstrip("/"), \
            _setting("MEDERI_PAYMENT_GATEWAY_PUBLISHABLE_KEY")
    return standin.local_url(), standin.LOCAL_PUBLISHABLE_KEY


def tokenize_as_a_browser(number: str, exp_month: int, exp_year: int, cvc: str, name: str = "") -> CardToken:
    """A token for a card, asked for as the payment page's script asks (publishable key): for the demo's
    cards and for tests. The practice's server never holds a card number to call this with."""
    url, key = browser_gateway()
    return HttpGateway(url, key).tokenize(re.sub(r"[\s-]", "", number), exp_month, exp_year, cvc, name)
