"""From a visit to an 837P on the clearinghouse: charges, a claim, scrubbing and the batch file."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from mederi.billing import claim_status
from mederi.billing.claims import fees
from mederi.billing.claims.charges import ChargeLine, capture_charges
from mederi.billing.claims.claims import Accident, ClaimError, create_claim
from mederi.billing.claims.submit import scrub_claim, submit_claims
from mederi.billing.claims.tables import BatchClaim
from mederi.billing.claims.tests.x12valid import x12valid
from mederi.billing.claims.workflow import follow_up_claim
from mederi.billing.ledger.selectors import aging, balance_of
from mederi.billing.ledger.services import REVENUE
from mederi.billing.models import Interchange
from mederi.billing.remittance.posting import post_remittance
from mederi.billing.remittance.tests.conftest import claim_payment, era, paid_line
from mederi.billing.tests.conftest import context_of, coverage, organization, system_repository
from mederi.billing.x12.remittance import Adjustment
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest

SYSTEM = Context.system("test")
BILLER = Context.system("claims-run")  # what the nightly claims run sends as
D = Decimal
ADDRESS = [{"line": ["100 Main Street"], "city": "Springfield", "state": "IL", "postalCode": "627015555"}]


@pytest.fixture
def visit(practice):
    repository = system_repository()
    organization("practice", "Riverside Family Medicine", "prov", [
        {"system": systems.NPI, "value": "1612345672"}, {"system": systems.TAX_ID, "value": "123456789"}])
    practice_org = repository.read("Organization", "practice").as_dict()
    repository.update("Organization", "practice", {**practice_org, "address": ADDRESS})
    repository.update("Practitioner", "dr-smith", {
        "resourceType": "Practitioner", "id": "dr-smith", "name": [{"family": "Smith", "given": ["Anna"]}],
        "identifier": [{"system": systems.NPI, "value": "1234567893"}]})
    for patient_id in ("pat-jane", "pat-child"):
        current = repository.read("Patient", patient_id).as_dict()
        repository.update("Patient", patient_id, {**current, "address": ADDRESS})
    repository.update("Encounter", "visit-jane", {
        "resourceType": "Encounter", "id": "visit-jane", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/pat-jane"}, "period": {"start": "2026-11-02T09:00:00-06:00"},
        "participant": [{"individual": {"reference": "Practitioner/dr-smith"}}]})
    fees.set_price(SYSTEM, fees.default_schedule(), "99213", "", "120.00")
    fees.set_price(SYSTEM, fees.default_schedule(), "20610", "", "210.00")
    return "visit-jane"


def lines() -> list[ChargeLine]:
    return [ChargeLine("99213", ["I10", "E11.9"], modifiers="25"),
            ChargeLine("20610", ["M17.11"], modifiers=["RT", "59", "XS", "76"], units="2")]


def test_charges_are_priced_from_the_fee_schedule_and_stored_as_charge_items(visit):
    captured = capture_charges(SYSTEM, visit, lines())
    charge = system_repository().read("ChargeItem", captured.charge_ids[1]).as_dict()
    assert charge["code"]["coding"][0]["code"] == "20610"
    assert charge["priceOverride"]["value"] == Decimal("210.00")
    assert [r["coding"][0]["code"] for r in charge["reason"]] == ["M17.11"]
    assert captured.warnings == []


def test_a_bad_line_stores_nothing_and_says_what_to_fix(visit):
    bad = [ChargeLine("99213", ["E11"]), ChargeLine("9921X", ["I10"]), ChargeLine("93000", ["I10"])]
    with pytest.raises(InvalidRequest) as caught:
        capture_charges(SYSTEM, visit, bad)
    messages = {issue.expression: issue.diagnostics for issue in caught.value.issues}
    assert "is a header" in messages["line[0].diagnoses"] and "E11.00" in messages["line[0].diagnoses"]
    assert "not a procedure code" in messages["line[1].code"]
    assert "No fee schedule prices 93000" in messages["line[2].price"]
    assert system_repository().search("ChargeItem", []).matches == []


def test_a_pregnancy_code_for_a_man_is_flagged(visit):
    repository = system_repository()
    jane = repository.read("Patient", "pat-jane").as_dict()
    repository.update("Patient", "pat-jane", {**jane, "gender": "male"})
    captured = capture_charges(SYSTEM, visit, [ChargeLine("99213", ["O09.511"])])
    assert "for female patients; this patient is male" in captured.warnings[0]


def test_a_visit_becomes_a_scrubbed_claim_sent_as_a_valid_837p_over_sftp(visit, sftp, payer):
    received = []
    payer.override = lambda payload, kind: received.append((payload.decode(), kind))
    charges = capture_charges(SYSTEM, visit, lines()).charge_ids
    claim_id = create_claim(SYSTEM, charges, ["cov-jane"], prior_authorization="PA-1",
                            accident=Accident("AA", dt.date(2026, 10, 30), "IL"))
    scrub_claim(SYSTEM, claim_id)
    biller = context_of("bill", "biller")
    [sent] = submit_claims(biller, [claim_id])
    claim = system_repository().read("Claim", claim_id).as_dict()
    number = claim_status.claim_number(claim)
    assert claim_status.status_of(claim) == "submitted"
    assert claim["total"]["value"] == Decimal("540.00")
    assert sent.kind == "837" and x12valid(sent.content) == []
    assert f"CLM*{number}*540.00***11:B:1*Y*A*Y*Y*" in sent.content
    assert f"REF*6R*{number}-2~" in sent.content and "SV1*HC:20610:RT:59:XS:76*420.00*UN*2***3~" in sent.content
    assert "REF*G1*PA-1~" in sent.content and "DTP*439*D8*20261030~" in sent.content
    assert BatchClaim.objects.get(claim_id=claim_id).file_name == sent.request_id
    for _ in range(100):  # the clearinghouse picks the file up on its own thread
        if received:
            break
        time.sleep(0.05)
    assert received[0][0] == sent.content


def test_a_dependent_secondary_claim_carries_the_primary_payment(visit):
    repository = system_repository()
    organization("payer-second", "Second Mutual", "pay", [{"system": systems.PAYER_ID, "value": "SEC01"}])
    coverage("cov-child-2", "pat-child", "S300", payer_id="payer-second",
             subscriber={"reference": "RelatedPerson/rp-mother"},
             relationship={"coding": [{"system": systems.SUBSCRIBER_RELATIONSHIP, "code": "child"}]})
    encounter = repository.read("Encounter", visit).as_dict()
    repository.update("Encounter", "visit-child", {**encounter, "id": "visit-child",
                                                   "subject": {"reference": "Patient/pat-child"}})
    charges = capture_charges(SYSTEM, "visit-child", [ChargeLine("99213", ["J45.909"])]).charge_ids
    claim_id = create_claim(SYSTEM, charges, ["cov-child", "cov-child-2"], focal=1, prior_paid=Decimal("80.00"))
    scrub_claim(SYSTEM, claim_id)
    from mederi.billing.claims.claims import claim_data
    from mederi.billing.claims.tests.test_837_scenarios import interchange

    text = interchange([claim_data(repository, repository.read("Claim", claim_id).as_dict())])
    assert x12valid(text) == []
    assert "PAT*19~" in text and "NM1*QC*1*NUNEZ*LUCIA~" in text
    assert "SBR*S**" in text and "AMT*D*80.00~" in text and "CAS*PR*2*40.00~" in text


def test_a_corrected_claim_needs_the_original_claim_number(visit):
    charges = capture_charges(SYSTEM, visit, lines()).charge_ids
    with pytest.raises(ClaimError, match="payer's claim number of the original"):
        create_claim(SYSTEM, charges, ["cov-jane"], frequency="7")
    claim_id = create_claim(SYSTEM, charges, ["cov-jane"], frequency="7", original_reference="ICN-9")
    scrub_claim(SYSTEM, claim_id)


def test_a_corrected_claim_made_from_a_sent_one_names_the_claim_it_replaces(visit):
    original = create_claim(SYSTEM, capture_charges(SYSTEM, visit, lines()).charge_ids, ["cov-jane"])
    stored = system_repository().read("Claim", original).as_dict()
    system_repository().update("Claim", original, claim_status.set_status(stored, claim_status.SUBMITTED))
    corrected = system_repository().read("Claim", follow_up_claim(SYSTEM, original, "7", "ICN-9")).as_dict()
    assert corrected["related"][0]["claim"] == {"reference": f"Claim/{original}"}
    assert corrected["related"][0]["reference"] == {"value": "ICN-9"}  # the payer's number, sent as REF*F8


def test_a_claim_without_the_practice_tax_id_is_not_scrubbed(visit):
    organization("practice", "Riverside Family Medicine", "prov", [{"system": systems.NPI, "value": "1612345672"}])
    claim_id = create_claim(SYSTEM, capture_charges(SYSTEM, visit, lines()).charge_ids, ["cov-jane"])
    with pytest.raises(ClaimError) as caught:
        scrub_claim(SYSTEM, claim_id)
    assert "tax id (EIN) is missing" in str(caught.value)
    assert claim_status.status_of(system_repository().read("Claim", claim_id).as_dict()) == "draft"


def test_a_draft_claim_is_not_sent(visit, sftp):
    claim_id = create_claim(SYSTEM, capture_charges(SYSTEM, visit, lines()).charge_ids, ["cov-jane"])
    with pytest.raises(ClaimError, match="only scrubbed claims are sent"):
        submit_claims(SYSTEM, [claim_id])
    assert not Interchange.objects.filter(kind="837").exists()


def sent_claim(claim_id: str) -> str:
    scrub_claim(SYSTEM, claim_id)
    submit_claims(BILLER, [claim_id])
    return claim_status.claim_number(system_repository().read("Claim", claim_id).as_dict())


def owed_by(kind: str) -> dict[str, Decimal]:
    return {row.party_id: row.total for row in aging(kind, dt.date(2026, 11, 30))}


def test_a_sent_claim_is_owed_by_its_payer_until_the_835_settles_it(visit, sftp):
    number = sent_claim(create_claim(SYSTEM, capture_charges(SYSTEM, visit, lines()).charge_ids, ["cov-jane"]))
    [payer_row] = aging("payer", dt.date(2026, 11, 30))
    assert payer_row.buckets[0] == Decimal("540.00") and payer_row.total == Decimal("540.00")  # sent 28 days ago
    answer = era(claim_payment(number, "400.00",
                               paid_line("99213", "120.00", "80.00", f"{number}-1", Adjustment("CO", "45", D("20.00")),
                                         Adjustment("PR", "2", D("20.00"))),
                               paid_line("20610", "420.00", "320.00", f"{number}-2",
                                         Adjustment("CO", "45", D("80.00")), Adjustment("PR", "2", D("20.00")))))
    result = post_remittance(SYSTEM, answer, name="answer.835")
    assert result.claims_posted == 1 and not result.queued
    assert owed_by("payer") == {} and owed_by("patient") == {"pat-jane": Decimal("40.00")}
    assert balance_of(REVENUE) == Decimal("-540.00")  # charged once, at sending


@pytest.mark.parametrize(("frequency", "payer_owes"), [("7", "540.00"), ("8", None)])
def test_a_corrected_or_void_claim_takes_the_unanswered_original_off_the_books(visit, sftp, frequency, payer_owes):
    original = create_claim(SYSTEM, capture_charges(SYSTEM, visit, lines()).charge_ids, ["cov-jane"])
    sent_claim(original)
    sent_claim(follow_up_claim(SYSTEM, original, frequency, "ICN-9"))
    assert list(owed_by("payer").values()) == ([Decimal(payer_owes)] if payer_owes else [])
