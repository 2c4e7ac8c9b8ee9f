"""A connector for Twilio-style SMS and voice REST APIs, and the webhook signature they use.

Requests are form-encoded POSTs to `{base}/2010-04-01/Accounts/{sid}/Messages.json` (texts) and
`.../Calls.json` (calls) with HTTP Basic authentication (account sid, auth token); the provider
answers JSON. Its callbacks to us are signed: base64 of HMAC-SHA1, keyed with the auth token,
over the full URL followed by every POST parameter's name and value, sorted by name.

Errors come back as `ProviderError` with a message a person can act on and whether trying again
may help. A request that may have reached the provider without an answer is never worth a
retry: the patient could get the message twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

import requests
import urllib3

API_VERSION = "2010-04-01"


def signature(url: str, params: dict[str, str] | list[tuple[str, str]], auth_token: str) -> str:
    """The X-Twilio-Signature of a callback POSTed to `url` with form `params`."""
    items = sorted(params.items() if isinstance(params, dict) else params)
    payload = url + "".join(f"{name}{value}" for name, value in items)
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_matches(url: str, params, auth_token: str, given: str | None) -> bool:
    if not auth_token or not given:
        return False
    return hmac.compare_digest(signature(url, params, auth_token), given.strip())


class ProviderError(Exception):
    """The provider did not take the request; `retry` says whether trying later may help."""

    def __init__(self, message: str, *, retry: bool, status: int | None = None, code: int | str | None = None):
        super().__init__(message)
        self.retry = retry
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Accepted:
    """The provider took the request: its id for the message or call, and its first status."""

    sid: str
    status: str
    raw: dict


class TwilioStyleClient:
    """Sends texts and starts calls through one account of a Twilio-style provider."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str, *, timeout: float = 15.0,
                 verify: bool | str = True):
        if not base_url or not account_sid or not auth_token:
            raise ProviderError("the SMS provider is not configured: set MEDERI_SMS_BASE_URL, "
                                "MEDERI_SMS_ACCOUNT_SID and MEDERI_SMS_AUTH_TOKEN", retry=False)
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.timeout = timeout
        self.verify = verify

    def _url(self, resource: str) -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{quote(self.account_sid, safe='')}/{resource}.json"

    def send_sms(self, to: str, sender: str, body: str, status_callback: str | None = None) -> Accepted:
        form = {"To": to, "From": sender, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        return self._post("Messages", form)

    def start_call(self, to: str, sender: str, twiml: str, status_callback: str | None = None) -> Accepted:
        form = {"To": to, "From": sender, "Twiml": twiml}
        if status_callback:
            form["StatusCallback"] = status_callback
            form["StatusCallbackEvent"] = "completed"
        return self._post("Calls", form)

    def _post(self, resource: str, form: dict[str, str]) -> Accepted:
        url = self._url(resource)
        try:
            response = requests.post(url, data=form, auth=(self.account_sid, self.auth_token),
                                     timeout=self.timeout, verify=self.verify,
                                     headers={"Accept": "application/json"})
        except requests.RequestException as error:
            if _never_reached(error):
                raise ProviderError(f"could not reach the SMS provider at {self.base_url}: {_reason(error)}",
                                    retry=True) from error
            raise ProviderError(f"the SMS provider did not answer ({_reason(error)}); the message may or may not "
                                "have gone out, so it is not sent again — check the provider's log",
                                retry=False) from error
        return _answer(response)


def _never_reached(error: requests.RequestException) -> bool:
    """The request surely did not reach the provider (no connection, no TLS): safe to try again."""
    if isinstance(error, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 wraps the cause in MaxRetryError
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _reason(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 300 else text[:300] + "…"


def _answer(response: requests.Response) -> Accepted:
    try:
        data = response.json()
    except ValueError:
        data = None
    status = response.status_code
    if 200 <= status < 300:
        if not isinstance(data, dict) or not data.get("sid"):
            raise ProviderError(f"the SMS provider answered HTTP {status} without a message id; it may have sent "
                                "the message, so it is not sent again", retry=False, status=status)
        return Accepted(sid=str(data["sid"]), status=str(data.get("status") or "queued"), raw=data)
    retry = status == 429 or status >= 500
    if isinstance(data, dict) and (data.get("message") or data.get("code")):
        code = data.get("code")
        detail = str(data.get("message") or "no message").strip()
        text = f"the SMS provider refused the request (HTTP {status}, error {code}): {detail}"
        if status == 401:
            text += " — check MEDERI_SMS_ACCOUNT_SID and MEDERI_SMS_AUTH_TOKEN"
        raise ProviderError(text, retry=retry, status=status, code=code)
    snippet = " ".join(response.text.split())[:200] or "an empty body"
    raise ProviderError(f"the SMS provider answered HTTP {status} with {snippet!r}", retry=retry, status=status)
