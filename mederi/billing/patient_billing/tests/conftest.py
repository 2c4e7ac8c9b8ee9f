"""A patient who owes after insurance (an 835 posted for her claim), and a stand-in gateway on a real socket."""

from __future__ import annotations

import datetime as dt

import pytest

from mederi.billing.remittance.posting import post_remittance
from mederi.billing.remittance.tests.conftest import clinic, era, make_claim, standard_payment  # noqa: F401
from mederi.billing.tests.conftest import context_of, system_repository
from mederi.core.context import Context

from ..gateway import tokenize_as_a_browser
from ..standin import StandInGateway

SYSTEM = Context.system("test")
TODAY = dt.date(2026, 3, 10)
ADDRESS = {"line": ["12 Elm Street"], "city": "Springfield", "state": "IL", "postalCode": "62701"}
VISA, DECLINED, NO_FUNDS = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000000000009995"


@pytest.fixture
def gateway(settings):
    """The stand-in gateway, the one this installation is configured to use during the test."""
    with StandInGateway(key="sk_test", publishable_key="pk_test", today=lambda: TODAY) as running:
        settings.MEDERI_PAYMENT_GATEWAY_URL, settings.MEDERI_PAYMENT_GATEWAY_KEY = running.url, "sk_test"
        settings.MEDERI_PAYMENT_GATEWAY_PUBLISHABLE_KEY = "pk_test"
        yield running


def typed(number: str, expiry: str = "12/28", cvc: str = "123", holder: str = "") -> str:
    """The token the payment page's script gets from the gateway for a card typed in the browser."""
    month, year = expiry.split("/")
    return tokenize_as_a_browser(number, int(month), 2000 + int(year), cvc, holder).token


@pytest.fixture
def today(monkeypatch):
    """The practice's day is TODAY (expiry checks, due instalments, statement dates)."""
    from mederi.billing import practice

    monkeypatch.setattr(practice, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def owing(clinic, today):  # noqa: F811
    """Jane Doe's claim C000000001 (180.00) answered by the payer: 120 paid, 40 contractual, 20 hers."""
    repository = system_repository()
    jane = repository.read("Patient", "pat-jane").as_dict()
    repository.update("Patient", "pat-jane", {**jane, "address": [ADDRESS]})
    practice = repository.read("Organization", "practice").as_dict()
    repository.update("Organization", "practice", {
        **practice, "address": [{"line": ["100 Main Street"], "city": "Springfield", "state": "IL",
                                 "postalCode": "627015555"}], "telecom": [{"system": "phone", "value": "217-555-0100"}]})
    claim_id = make_claim("C000000001")
    post_remittance(SYSTEM, era(standard_payment()))
    return claim_id


@pytest.fixture
def biller(db):
    return context_of("bea", "biller")


@pytest.fixture
def desk(db):
    return context_of("fran", "front_desk")
