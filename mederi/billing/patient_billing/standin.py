"""A stand-in card payment gateway on this machine: the gateway API of gateway.py over HTTP on a real socket.

It keeps cards and charges in memory and decides by card number, the way gateways' test modes do:

    4242 4242 4242 4242, 5555 5555 5555 4444, 3782 822463 10005   approved
    4000 0000 0000 0002   declined (generic_decline)
    4000 0000 0000 9995   declined (insufficient_funds)
    4000 0000 0000 0069   declined (expired_card)
    4000 0000 0000 0127   declined (incorrect_cvc)

Any other number that passes the Luhn check is approved; one that fails it is refused when it is
tokenized (invalid_number), as is an expiry in the past. A card tokenized fine can still be declined
when charged — that is how a card on file stops working between instalments. Requests need the
bearer key the stand-in was started with; a browser creates tokens with the publishable key, which
can do nothing else, and the token endpoint answers browsers of any origin (CORS), as gateways do. It keeps no card number: a token remembers the brand, last
four digits, expiry and the test outcome. Started with a `state_file`, it keeps tokens and charges
there, so the web server's and the job worker's stand-ins (one per process) know the same cards. Run it by hand with
`python -m mederi.billing.patient_billing.standin --port 8791`. It moves no money: nothing here
reaches a bank.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import re
import secrets
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOCAL_KEY = "sk_standin"  # the key of this process's own stand-in: it guards nothing of value
LOCAL_PUBLISHABLE_KEY = "pk_standin"  # what a browser may use: creating tokens only
DECLINES = {"4000000000000002": "generic_decline", "4000000000009995": "insufficient_funds",
            "4000000000000069": "expired_card", "4000000000000127": "incorrect_cvc"}
MAX_BYTES = 64 * 1024
_CHARGE_PATH = re.compile(r"^/v1/charges/(ch_[A-Za-z0-9]+)/(capture|refunds)$")
_TOKEN_PATH = re.compile(r"^/v1/tokens/(tok_[A-Za-z0-9]+)$")
_BROWSER_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type", "Access-Control-Max-Age": "600"}


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number][::-1]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:2] in ("51", "52", "53", "54", "55") or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith("6011") or number.startswith("65"):
        return "discover"
    return "card"


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict | None = None):
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}
        super().__init__(message)


class StandInGateway:
    """`StandInGateway()` listens on 127.0.0.1 at once; `.url` is the API's base address."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, key: str = LOCAL_KEY, today=None,
                 state_file: Path | None = None, publishable_key: str = LOCAL_PUBLISHABLE_KEY):
        self.key, self.publishable_key = key, publishable_key
        self.today = today or dt.date.today
        self.state_file = Path(state_file) if state_file else None
        self.cards: dict[str, dict] = {}  # token -> brand, last4, expiry and the test outcome
        self.charges: dict[str, dict] = {}
        self.requests: list[tuple[str, dict]] = []  # (path, body) as received, for a test to inspect
        self._answers: dict[str, list] = {}  # Idempotency-Key -> [status, answer] given
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.gateway = self
        self.url = f"http://{host}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway-standin",
                         daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "StandInGateway":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def handle(self, path: str, body: dict, idempotency_key: str) -> tuple[int, dict]:
        with self._lock, self._shared_state():
            self.requests.append((path, body))
            if idempotency_key and idempotency_key in self._answers:
                return tuple(self._answers[idempotency_key])
            try:
                answer = 200, self._route(path, body)
            except _Refused as refusal:
                answer = refusal.status, {"error": {"code": refusal.code, "message": refusal.message,
                                                    **({"decline_code": refusal.extra["decline_code"]}
                                                       if "decline_code" in refusal.extra else {})},
                                          **{k: v for k, v in refusal.extra.items() if k != "decline_code"}}
            if idempotency_key:
                self._answers[idempotency_key] = list(answer)
            return answer

    @contextmanager
    def _shared_state(self):
        """With a state file: read it under an exclusive lock, let the request change it, write it back."""
        if self.state_file is None:
            yield
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_file.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.state_file.exists():
                state = json.loads(self.state_file.read_text() or "{}")
                self.cards, self.charges = state.get("cards", {}), state.get("charges", {})
                self._answers = state.get("answers", {})
            yield
            self.state_file.write_text(json.dumps({"cards": self.cards, "charges": self.charges,
                                                   "answers": self._answers}))

    def _route(self, path: str, body: dict) -> dict:
        if path == "/v1/tokens":
            return self._tokenize(body.get("card") or {})
        token = _TOKEN_PATH.match(path)
        if token:
            if token.group(1) not in self.cards:
                raise _Refused(404, "token_unknown", "the card token is not known to this gateway")
            return {"token": token.group(1), **{k: v for k, v in self.cards[token.group(1)].items() if k != "decline"}}
        if path == "/v1/charges":
            return self._charge(body)
        found = _CHARGE_PATH.match(path)
        if not found or found.group(1) not in self.charges:
            raise _Refused(404, "resource_missing", f"no such charge or endpoint: {path}")
        charge, amount = self.charges[found.group(1)], _cents(body.get("amount"))
        if found.group(2) == "capture":
            if charge["status"] != "authorized":
                raise _Refused(400, "charge_already_captured", f"charge {charge['id']} is {charge['status']}")
            if amount > charge["amount"]:
                raise _Refused(400, "amount_too_large", "cannot capture more than was authorised")
            charge.update(status="captured", captured=amount)
            return dict(charge)
        if charge["status"] != "captured":
            raise _Refused(400, "charge_not_captured", f"charge {charge['id']} was not captured: nothing to refund")
        if amount > charge["captured"] - charge["refunded"]:
            raise _Refused(400, "amount_too_large", f"only {charge['captured'] - charge['refunded']} cents are left "
                           "to refund on this charge")
        charge["refunded"] += amount
        return {"id": "re_" + secrets.token_hex(8), "charge": charge["id"], "amount": amount, "status": "succeeded"}

    def _tokenize(self, card: dict) -> dict:
        number = re.sub(r"[ -]", "", str(card.get("number", "")))
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
            raise _Refused(402, "invalid_number", "the card number is not valid", {"decline_code": "invalid_number"})
        try:
            month, year = int(card.get("exp_month")), int(card.get("exp_year"))
        except (TypeError, ValueError):
            raise _Refused(400, "invalid_expiry", "give the expiry month and year") from None
        today = self.today()
        if not 1 <= month <= 12 or (year, month) < (today.year, today.month):
            raise _Refused(402, "expired_card", "the card has expired", {"decline_code": "expired_card"})
        token = "tok_" + secrets.token_hex(12)
        self.cards[token] = {"brand": brand_of(number), "last4": number[-4:], "exp_month": month, "exp_year": year,
                             "decline": DECLINES.get(number, "")}
        return {"token": token, **{k: v for k, v in self.cards[token].items() if k != "decline"}}

    def _charge(self, body: dict) -> dict:
        card = self.cards.get(str(body.get("token", "")))
        if card is None:
            raise _Refused(400, "token_unknown", "the card token is not known to this gateway")
        amount = _cents(body.get("amount"))
        charge_id = "ch_" + secrets.token_hex(10)
        decline = card["decline"]
        if decline:
            self.charges[charge_id] = {"id": charge_id, "status": "declined", "amount": amount}
            raise _Refused(402, "card_declined", f"your card was declined ({decline})",
                           {"decline_code": decline, "id": charge_id, "status": "declined"})
        capture = bool(body.get("capture", True))
        charge = {"id": charge_id, "status": "captured" if capture else "authorized", "amount": amount,
                  "captured": amount if capture else 0, "refunded": 0, "last4": card["last4"],
                  "description": str(body.get("description", ""))[:200]}
        self.charges[charge_id] = charge
        return dict(charge)


def _cents(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Refused(400, "invalid_amount", "amount must be a positive whole number of cents")
    return value


class _Handler(BaseHTTPRequestHandler):
    server_version = "GatewayStandIn/1.0"

    def log_message(self, format, *args) -> None:  # card details are in bodies: never log them
        pass

    def do_OPTIONS(self) -> None:
        """The browser's preflight before it sends card details to the token endpoint."""
        self.send_response(204 if self.path == "/v1/tokens" else 404)
        for name, value in _BROWSER_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if self._key_refused():
            return
        self._reply(*self.server.gateway.handle(self.path, {}, ""))

    def do_POST(self) -> None:
        gateway = self.server.gateway
        if self._key_refused(browser_may=self.path == "/v1/tokens"):
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BYTES:
            return self._reply(400, {"error": {"code": "invalid_request", "message": "the body is empty or too large"}})
        try:
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return self._reply(400, {"error": {"code": "invalid_request", "message": "the body is not a JSON object"}})
        self._reply(*gateway.handle(self.path, body, self.headers.get("Idempotency-Key", "")))

    def _key_refused(self, browser_may: bool = False) -> bool:
        """Answer 401 unless the secret key (or, where a browser may ask, the publishable key) was sent."""
        gateway, sent = self.server.gateway, self.headers.get("Authorization", "")
        if sent == f"Bearer {gateway.key}" or (browser_may and sent == f"Bearer {gateway.publishable_key}"):
            return False
        message = "send the secret key as a bearer token" if not sent.startswith("Bearer pk_") else \
            "a publishable key can only create card tokens"
        self._reply(401, {"error": {"code": "unauthorized", "message": message}})
        return True

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        if self.path == "/v1/tokens":
            self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


_local: StandInGateway | None = None
_local_lock = threading.Lock()


def local_url() -> str:
    """The URL of this process's own stand-in gateway, started on first use; its cards and charges are
    kept in var/ so every process of this installation (web server, job worker, demo) shares them."""
    global _local
    from django.conf import settings

    with _local_lock:
        if _local is None:
            _local = StandInGateway(state_file=Path(settings.VAR_DIR) / "payment-gateway-standin.json")
        return _local.url


def main() -> None:
    parser = argparse.ArgumentParser(description="A stand-in card payment gateway for Mederi (moves no money).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--key", default=LOCAL_KEY)
    parser.add_argument("--publishable-key", default=LOCAL_PUBLISHABLE_KEY)
    args = parser.parse_args()
    gateway = StandInGateway(args.host, args.port, args.key, publishable_key=args.publishable_key)
    print(f"stand-in payment gateway at {gateway.url}, keys {args.key} and {args.publishable_key} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        gateway.stop()


if __name__ == "__main__":
    main()
