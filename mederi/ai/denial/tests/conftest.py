"""A practice with two payers and patients, and a way to give it a remittance history: synthetic claims written
as Claims and answered by real 835 files posted through the remittance app."""

from __future__ import annotations

import datetime as dt

import pytest

from mederi.ai.denial import demo, synthetic
from mederi.billing import claim_status
from mederi.billing.tests.conftest import coverage, organization, patient, system_repository
from mederi.core import systems
from mederi.core.context import Context

SYSTEM = Context.system("test")
TODAY = dt.date(2026, 11, 20)
PAYERS = {"payer-acme": ("payer-acme", "ACME01", "ACME HEALTH PLAN"),
          "payer-medicare": ("payer-mcr", "MCRB01", "MEDICARE PART B")}
ADDRESS = [{"line": ["100 Main Street"], "city": "Springfield", "state": "IL", "postalCode": "627015555"}]


@pytest.fixture
def clinic(db):
    organization("practice", "Riverside Family Medicine", "prov", [
        {"system": systems.NPI, "value": "1612345672"}, {"system": systems.TAX_ID, "value": "123456789"}])
    repository = system_repository()
    repository.update("Organization", "practice", {**repository.read("Organization", "practice").as_dict(),
                                                   "address": ADDRESS})
    organization("payer-acme", "Acme Health Plan", "pay", [{"system": systems.PAYER_ID, "value": "ACME01"}])
    organization("payer-mcr", "Medicare Part B", "pay", [{"system": systems.PAYER_ID, "value": "MCRB01"}])
    repository.update("Practitioner", "dr-smith", {
        "resourceType": "Practitioner", "id": "dr-smith", "name": [{"family": "Smith", "given": ["Anna"]}],
        "identifier": [{"system": systems.NPI, "value": "1234567893"}]})
    patient("pat-jane", "Doe", "Jane", "1980-02-03")
    patient("pat-ann", "Lee", "Ann", "1950-05-06")
    for patient_id in ("pat-jane", "pat-ann"):
        repository.update("Patient", patient_id, {**repository.read("Patient", patient_id).as_dict(),
                                                  "address": ADDRESS})
    coverage("cov-jane", "pat-jane", "M100")
    coverage("cov-ann", "pat-ann", "M400", payer_id="payer-mcr")


def acme_pattern(count: int = 40) -> list[synthetic.SyntheticClaim]:
    """Acme denies 99214 with modifier 25 beside an injection (every other one, CARC 97) and pays the rest."""
    claims = []
    for n in range(count):
        day = TODAY - dt.timedelta(days=20 + 7 * n)
        if n % 2:
            lines = [synthetic.SyntheticLine("99214", ("25",), ["M17.11"], denied=n % 4 == 1, carc="97"),
                     synthetic.SyntheticLine("20610", ("RT",), ["M17.11"])]
        else:
            lines = [synthetic.SyntheticLine("99213", (), ["I10"])]
        for line in lines:
            line.carc = line.carc if line.denied else ""
        claims.append(synthetic.SyntheticClaim(f"S{n + 1:09d}", day, "payer-acme", lines))
    return claims


def record(claims: list[synthetic.SyntheticClaim], prefix: str = "H") -> int:
    return demo.record_history(SYSTEM, claims, patients={"payer-acme": [("pat-jane", "cov-jane")],
                                                         "payer-medicare": [("pat-ann", "cov-ann")]},
                               payers=PAYERS, provider_id="practice", practitioner_id="dr-smith",
                               payee=("RIVERSIDE FAMILY MEDICINE", "1612345672"), prefix=prefix, source="test")


def open_claim(codes: list[tuple[str, tuple[str, ...], str]], *, payer: str = "payer-acme", number: str = "C000000901",
               day: dt.date = TODAY - dt.timedelta(days=3)) -> str:
    """A draft claim as the claims module writes one: (code, modifiers, diagnosis) per line."""
    claim = synthetic.SyntheticClaim("S0", day, payer, [synthetic.SyntheticLine(code, mods, [dx])
                                                         for code, mods, dx in codes])
    patient_id, coverage_id = ("pat-jane", "cov-jane") if payer == "payer-acme" else ("pat-ann", "cov-ann")
    resource = demo.history_claim(claim, number, patient_id, coverage_id, "practice", "dr-smith")
    resource = claim_status.set_status(resource, claim_status.DRAFT)
    return system_repository().create(resource).stored.logical_id
