"""A practice with a payer, a patient and submitted Claims shaped as the claims module writes them, and an 835 maker."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mederi.billing import claim_status
from mederi.billing.claims.claims import FREQUENCY_URL
from mederi.billing.tests.conftest import coverage, organization, patient
from mederi.billing.x12.remittance import Adjustment, ClaimPayment, ProviderAdjustment, Remittance, ServiceLine
from mederi.billing.x12.remittance_writer import build_835
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

D = Decimal
SERVICE_DAY = "2026-02-10"


def make_claim(number: str, lines=(("99213", "150.00"), ("36415", "30.00")), *, patient_id="pat-jane",
               coverage_id="cov-jane", status=claim_status.SUBMITTED, day=SERVICE_DAY, primary_coverage_id="",
               replaces="") -> str:
    items = [{"sequence": n, "productOrService": {"coding": [{"system": systems.CPT, "code": code}]},
              "servicedDate": day, "net": {"value": D(net), "currency": "USD"},
              "extension": [{"url": "urn:mederi:line-control-number",
                             "valueString": claim_status.line_control_number(number, n)}]}
             for n, (code, net) in enumerate(lines, start=1)]
    claim = {
        "resourceType": "Claim", "status": "active", "use": "claim", "created": f"{day}T12:00:00+00:00",
        "identifier": [{"system": systems.CLAIM_NUMBER, "value": number}],
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"reference": f"Patient/{patient_id}"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "provider": {"reference": "Organization/practice"},
        "insurance": ([{"sequence": 1, "focal": False, "coverage": {"reference": f"Coverage/{primary_coverage_id}"}}]
                      if primary_coverage_id else [])
        + [{"sequence": 2 if primary_coverage_id else 1, "focal": True,
            "coverage": {"reference": f"Coverage/{coverage_id}"}}],
        "item": items, "total": {"value": sum((D(net) for _, net in lines), D("0")), "currency": "USD"},
        "billablePeriod": {"start": day, "end": day},
    }
    if replaces:  # a corrected claim, shaped as claims.create_claim writes one
        claim["extension"] = [{"url": FREQUENCY_URL, "valueCode": "7"}]
        claim["related"] = [{"claim": {"reference": f"Claim/{replaces}"}, "reference": {"value": "PAYER-1"}}]
    claim = claim_status.set_status(claim, status)
    return Repository(Context.system("test")).create(claim).stored.logical_id


@pytest.fixture
def clinic(db):
    organization("practice", "Riverside Family Medicine", "prov", [{"system": systems.NPI, "value": "1612345672"}])
    organization("payer-acme", "Acme Health Plan", "pay", [{"system": systems.PAYER_ID, "value": "ACME01"}])
    patient("pat-jane", "Doe", "Jane", "1980-02-03")
    patient("pat-ann", "Lee", "Ann", "1990-05-06")
    coverage("cov-jane", "pat-jane", "M100")
    coverage("cov-ann", "pat-ann", "M400")


def paid_line(code: str, charge: str, paid: str, control: str, *adjustments: Adjustment) -> ServiceLine:
    return ServiceLine(procedure=code, charge=D(charge), paid=D(paid), control_number=control,
                       service_start=dt.date(2026, 2, 10), service_end=dt.date(2026, 2, 10),
                       adjustments=list(adjustments))


def claim_payment(number: str, paid: str, *lines: ServiceLine, status="1", charge=None, adjustments=(),
                  remarks=()) -> ClaimPayment:
    total = charge or str(sum((line.charge for line in lines), D("0")))
    return ClaimPayment(claim_number=number, status=status, charge=D(total), paid=D(paid), patient_last="DOE",
                        patient_first="JANE", patient_member_id="M100", lines=list(lines),
                        adjustments=list(adjustments), remarks=list(remarks))


def era(*claims: ClaimPayment, trace="EFT-5001", provider_adjustments=(), control=1) -> str:
    remittance = Remittance(control_number="0001", handling="I", total=D("0"), method="ACH",
                            paid_on=dt.date(2026, 3, 2), trace_number=trace, payer_trace_id="1999999999",
                            payer_name="ACME HEALTH PLAN", payer_id="ACME01", payee_name="RIVERSIDE FAMILY MEDICINE",
                            payee_id_qualifier="XX", payee_id="1612345672", claims=list(claims),
                            provider_adjustments=list(provider_adjustments))
    remittance.total = remittance.claims_paid - remittance.provider_adjusted
    return build_835(remittance, control_number=control)


def standard_payment(number: str = "C000000001", paid: str = "120.00") -> ClaimPayment:
    """150 + 30 charged; the payer pays 120, writes 40 off by contract and leaves 20 coinsurance to the patient."""
    return claim_payment(
        number, paid,
        paid_line("99213", "150.00", "100.00", f"{number}-1", Adjustment("CO", "45", D("30.00")),
                  Adjustment("PR", "2", D("20.00"))),
        paid_line("36415", "30.00", "20.00", f"{number}-2", Adjustment("CO", "45", D("10.00"))))


__all__ = ["ProviderAdjustment", "clinic", "claim_payment", "era", "make_claim", "paid_line", "standard_payment"]
