"""The pharmacy network, behind one small interface: `network().send(content)` posts one SCRIPT
message and returns the network's answer, or raises `Unreachable` (nothing was delivered: safe to
try again) or `NoAnswer` (the message may have arrived: never resent by itself).

`MEDERI_ERX_URL` names the network's SCRIPT endpoint; without it this process's stand-in network
(`standin.local_url()`) is used, so an unconfigured installation never reaches a real pharmacy.
"""

from __future__ import annotations

import os

import requests
from django.conf import settings
from urllib3.exceptions import NewConnectionError

from mederi.clinical.prescribing import script, standin

TIMEOUT = (5, 30)  # seconds to connect, seconds to wait for the answer


class Unreachable(Exception):
    """The network could not be reached: the message did not leave."""


class NoAnswer(Exception):
    """The message went out and no readable answer came back."""


class HttpScriptNetwork:
    def __init__(self, url: str):
        self.url = url

    def send(self, content: bytes) -> script.Answer:
        try:
            response = requests.post(self.url, data=content, timeout=TIMEOUT,
                                     headers={"Content-Type": "application/xml"})
        except requests.ConnectTimeout:
            raise Unreachable(f"the pharmacy network at {self.url} did not take the connection") from None
        except requests.ConnectionError as error:
            if _never_connected(error):
                raise Unreachable(f"the pharmacy network at {self.url} could not be reached") from None
            raise NoAnswer(f"the connection broke after the message was sent: {error}") from None
        except requests.Timeout:
            raise NoAnswer(f"the network took the message and did not answer within {TIMEOUT[1]} s") from None
        if response.status_code != 200:
            raise NoAnswer(f"the network answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return script.read_answer(response.content)
        except ValueError as error:
            raise NoAnswer(f"the network's answer could not be read: {error}") from None


def _never_connected(error: requests.ConnectionError) -> bool:
    """Refused, or the name did not resolve: no byte of the message left this machine."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)


def configured_url() -> str:
    return getattr(settings, "MEDERI_ERX_URL", "") or os.environ.get("MEDERI_ERX_URL", "")


def uses_standin() -> bool:
    return not configured_url()


def network() -> HttpScriptNetwork:
    return HttpScriptNetwork(configured_url() or standin.local_url())
