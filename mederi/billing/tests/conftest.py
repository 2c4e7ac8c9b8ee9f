"""A small practice for eligibility tests: a payer, patients with coverages, and a payer stand-in on real sockets."""

from __future__ import annotations

import datetime as dt
import socket
from decimal import Decimal

import pytest

from mederi.billing.clearinghouse.standin import StandIn
from mederi.billing.models import PayerConnection
from mederi.billing.standin_payer import PlanTable
from mederi.billing.x12.eligibility import PayerPlan
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

D = Decimal
PRACTICE_NPI = "1612345672"
GOLD = PayerPlan(
    plan_name="GOLD PPO", group_number="GRP-77", insurance_type="PR",
    copays={"98": D("25.00"), "UC": D("50.00")},
    deductible_individual=D("1500.00"), deductible_individual_remaining=D("700.50"),
    deductible_family=D("3000.00"), deductible_family_remaining=D("2100.00"),
    coinsurance_percent=D("0.2"), out_of_pocket=D("6000.00"), out_of_pocket_remaining=D("5200.00"),
    plan_begin=dt.date(2026, 1, 1), plan_end=dt.date(2026, 12, 31),
)
ENDED = PayerPlan(active=False, plan_name="GOLD PPO", plan_begin=dt.date(2025, 1, 1), plan_end=dt.date(2025, 12, 31))
PLANS = {"M100": GOLD, "M200": ENDED, "M300": GOLD}  # M300: the family whose child is the patient


class Payer:
    """The stand-in's payer: answers from PLANS unless a test says otherwise."""

    def __init__(self):
        self.table = PlanTable(PLANS)
        self.override = None  # a function (payload, kind) -> bytes | None taking over

    def __call__(self, payload: bytes, kind: str):
        if self.override is not None:
            return self.override(payload, kind)
        return self.table(payload, kind)


@pytest.fixture(scope="session")
def payer():
    return Payer()


@pytest.fixture(scope="session")
def standin(payer):
    with StandIn(payer, username="clinic", password="s3cret") as running:
        yield running


@pytest.fixture(autouse=True)
def payer_answers_normally(payer):
    payer.override = None
    yield
    payer.override = None


def system_repository() -> Repository:
    return Repository(Context.system("test"))


def organization(logical_id: str, name: str, kind: str, identifiers: list[dict]) -> dict:
    resource = {"resourceType": "Organization", "id": logical_id, "active": True, "name": name,
                "type": [{"coding": [{"system": systems.ORGANIZATION_TYPE, "code": kind}]}]}
    if identifiers:
        resource["identifier"] = identifiers
    return system_repository().update("Organization", logical_id, resource).stored.as_dict()


def patient(logical_id: str, family: str, given: str, born: str, gender: str = "female") -> None:
    system_repository().update("Patient", logical_id, {
        "resourceType": "Patient", "id": logical_id, "name": [{"use": "official", "family": family, "given": [given]}],
        "birthDate": born, "gender": gender,
    })


def coverage(logical_id: str, patient_id: str, member_id: str, payer_id: str = "payer-acme", **extra) -> None:
    resource = {
        "resourceType": "Coverage", "id": logical_id, "status": "active", "beneficiary": {"reference": f"Patient/{patient_id}"},
        "payor": [{"reference": f"Organization/{payer_id}"}], "subscriberId": member_id,
        "identifier": [{"type": {"coding": [{"system": systems.IDENTIFIER_TYPE, "code": "MB"}]},
                        "system": systems.MEMBER_ID, "value": member_id}],
        "relationship": {"coding": [{"system": systems.SUBSCRIBER_RELATIONSHIP, "code": "self"}]},
        **extra,
    }
    system_repository().update("Coverage", logical_id, resource)


@pytest.fixture
def practice(db):
    """The practice, the payer Acme (payer id ACME01) and three patients with coverages at Acme."""
    organization("practice", "Riverside Family Medicine", "prov", [{"system": systems.NPI, "value": PRACTICE_NPI}])
    organization("payer-acme", "Acme Health Plan", "pay", [{"system": systems.PAYER_ID, "value": "ACME01"}])
    patient("pat-jane", "Doe", "Jane", "1980-02-03")
    patient("pat-ended", "Roe", "Richard", "1975-06-07", "male")
    patient("pat-unknown", "Poe", "Edgar", "1960-01-19", "male")
    patient("pat-child", "Núñez", "Lucía", "2015-04-05")
    coverage("cov-jane", "pat-jane", "M100")
    coverage("cov-ended", "pat-ended", "M200")
    coverage("cov-unknown", "pat-unknown", "M999")
    system_repository().update("RelatedPerson", "rp-mother", {
        "resourceType": "RelatedPerson", "id": "rp-mother", "patient": {"reference": "Patient/pat-child"},
        "name": [{"family": "Núñez", "given": ["María"]}], "birthDate": "1988-03-14", "gender": "female",
    })
    coverage("cov-child", "pat-child", "M300", subscriber={"reference": "RelatedPerson/rp-mother"},
             relationship={"coding": [{"system": systems.SUBSCRIBER_RELATIONSHIP, "code": "child"}]})


def connect(transport: str, standin=None, organization_id: str = "payer-acme", **changes) -> PayerConnection:
    values = {"transport": transport, "sender_id": "RIVERSIDE", "receiver_id": "ACMEHEALTH", "timeout_seconds": 5,
              "username": "clinic", "password": "s3cret"}
    if transport == PayerConnection.HTTPS and standin is not None:
        values.update(url=standin.https_url, ca_file=str(standin.ca_file))
    elif transport == PayerConnection.SFTP and standin is not None:
        values.update(host="127.0.0.1", port=standin.sftp_port, host_key=standin.host_key)
    values.update(changes)
    connection, _ = PayerConnection.objects.update_or_create(organization_id=organization_id, defaults=values)
    return connection


@pytest.fixture
def https(practice, standin):
    return connect(PayerConnection.HTTPS, standin)


@pytest.fixture
def sftp(practice, standin):
    return connect(PayerConnection.SFTP, standin)


def context_of(username: str, *roles: str) -> Context:
    from mederi.accounts.context import context_for_user
    from mederi.conftest import staff_user

    return context_for_user(staff_user(username, *roles))


@pytest.fixture
def front_desk(db):
    return context_of("fran", "front_desk")


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
