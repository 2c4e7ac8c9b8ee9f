"""The scrubber: each rule fires on a worked bad claim, says what to fix and names the field, and
stays quiet on the good one."""

from __future__ import annotations

import datetime as dt

import pytest

from mederi.billing import claim_status
from mederi.billing.claims import fees, scrubber
from mederi.billing.claims.charges import ChargeLine, capture_charges
from mederi.billing.claims.claims import ClaimError, create_claim
from mederi.billing.claims.submit import scrub_claim
from mederi.billing.models import EligibilityCheck, PayerConnection
from mederi.billing.tests.conftest import system_repository
from mederi.billing.tests.test_claims_flow import SYSTEM, lines, visit  # noqa: F401 (visit is a fixture)
from mederi.conftest import FrozenClock

PRICED = ("99213", "99396", "99395", "90471", "90686", "36415", "99000", "20610", "96372")


@pytest.fixture
def priced(visit):  # noqa: F811
    for code in PRICED:
        fees.set_price(SYSTEM, fees.default_schedule(), code, "", "50.00")
    return visit


def claim_for(visit_id: str, charge_lines: list[ChargeLine], **options) -> str:
    charges = capture_charges(SYSTEM, visit_id, charge_lines).charge_ids
    return create_claim(SYSTEM, charges, ["cov-jane"], **options)


def found(claim_id: str) -> dict[str, str]:
    """expression -> message of every finding (the last one when a field has several)."""
    repository = system_repository()
    return {i.expression: i.diagnostics for i in scrubber.findings(repository, repository.read("Claim", claim_id).as_dict())}


def test_a_clean_claim_has_no_findings_and_is_scrubbed(priced):
    claim_id = claim_for(priced, lines())
    assert found(claim_id) == {}
    scrub_claim(SYSTEM, claim_id)
    assert claim_status.status_of(system_repository().read("Claim", claim_id).as_dict()) == "scrubbed"


def test_a_rendering_npi_with_a_wrong_check_digit_is_found_and_the_claim_stays_draft(priced):
    repository = system_repository()
    doctor = repository.read("Practitioner", "dr-smith").as_dict()
    repository.update("Practitioner", "dr-smith", {**doctor, "identifier": [
        {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567890"}]})
    claim_id = claim_for(priced, lines())
    assert "NPI 1234567890 fails the NPI check digit" in found(claim_id)["careTeam"]
    with pytest.raises(ClaimError, match="check digit"):
        scrub_claim(SYSTEM, claim_id)
    assert claim_status.status_of(repository.read("Claim", claim_id).as_dict()) == "draft"


def test_a_non_billable_diagnosis_on_the_claim_is_found_with_choices(priced):
    repository = system_repository()
    claim_id = claim_for(priced, [ChargeLine("99213", ["E11.9"])])
    claim = repository.read("Claim", claim_id).as_dict()
    claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] = "E11"
    repository.update("Claim", claim_id, claim)
    message = found(claim_id)["diagnosis[1]"]
    assert "E11" in message and "header" in message and "E11.00" in message


def test_a_sex_conflict_is_a_warning_that_does_not_stop_the_claim(priced):
    repository = system_repository()
    jane = repository.read("Patient", "pat-jane").as_dict()
    repository.update("Patient", "pat-jane", {**jane, "gender": "male"})
    claim_id = claim_for(priced, [ChargeLine("99213", ["N94.6"])])
    [warning] = scrubber.findings(repository, repository.read("Claim", claim_id).as_dict())
    assert warning.severity == "warning" and "for female patients" in warning.diagnostics
    scrub_claim(SYSTEM, claim_id)  # the biller decides


def test_vaccine_administration_needs_z23(priced):
    good = claim_for(priced, [ChargeLine("90471", ["Z23"]), ChargeLine("90686", ["Z23"])])
    assert found(good) == {}
    bad = claim_for(priced, [ChargeLine("90471", ["I10"]), ChargeLine("90686", ["Z23"])])
    assert "needs a diagnosis that supports it, such as Z23" in found(bad)["item[1].diagnosisSequence"]


def test_a_problem_visit_with_a_preventive_visit_needs_modifier_25(priced):
    good = claim_for(priced, [ChargeLine("99396", ["Z00.00"]), ChargeLine("99213", ["I10"], modifiers="25")])
    assert found(good) == {}
    bad = claim_for(priced, [ChargeLine("99396", ["Z00.00"]), ChargeLine("99213", ["I10"])])
    message = found(bad)["item[2].modifier"]
    assert "99213 with 99396 needs modifier 25" in message and "Add 25 to line 2" in message


def test_specimen_handling_is_bundled_into_the_venipuncture(priced):
    assert found(claim_for(priced, [ChargeLine("36415", ["E11.9"])])) == {}
    bad = claim_for(priced, [ChargeLine("36415", ["E11.9"]), ChargeLine("99000", ["E11.9"])])
    assert "Remove line 2" in found(bad)["item[2].productOrService"]


def test_a_joint_injection_billed_twice_must_say_which_side(priced):
    good = claim_for(priced, [ChargeLine("20610", ["M17.0"], modifiers="RT"),
                              ChargeLine("20610", ["M17.0"], modifiers="LT")])
    assert found(good) == {}
    bad = claim_for(priced, [ChargeLine("20610", ["M17.0"]), ChargeLine("20610", ["M17.0"])])
    assert "say which side with RT or LT" in found(bad)["item[1].modifier"]


def test_a_preventive_code_for_another_age_band_names_the_right_one(priced):
    bad = claim_for(priced, [ChargeLine("99395", ["Z00.00"])])  # Jane was 46 on the day
    assert "the patient was 46. Use 99396" in found(bad)["item[1].productOrService"]


def test_the_same_visit_billed_twice_is_a_duplicate_but_a_corrected_claim_is_not(priced):
    first = claim_for(priced, lines())
    second = claim_for(priced, lines())
    assert f"Claim {claim_status.claim_number(system_repository().read('Claim', first).as_dict())} already bills" \
        in found(second)["claim"]
    corrected = claim_for(priced, lines(), frequency="7", original_reference="ICN-1")
    assert "claim" not in found(corrected)


def test_a_claim_past_the_payers_filing_limit_is_found(priced, monkeypatch):
    claim_id = claim_for(priced, lines())
    FrozenClock.install(monkeypatch, dt.datetime(2027, 12, 1, 12, tzinfo=dt.timezone.utc))
    assert "up to 365 days after the service" in found(claim_id)["billablePeriod"]
    PayerConnection.objects.create(organization_id="payer-acme", sender_id="S", receiver_id="R",
                                   timely_filing_days=730)
    assert "billablePeriod" not in found(claim_id)


def test_an_inactive_eligibility_answer_is_found(priced):
    claim_id = claim_for(priced, lines())
    check = EligibilityCheck.objects.create(
        coverage_id="cov-jane", patient_id="pat-jane", payer_id="payer-acme", request_id="r1", response_id="s1",
        status=EligibilityCheck.INACTIVE, answered=True, service_date=dt.date(2026, 11, 2),
        checked_at=dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc), checked_on=dt.date(2026, 11, 1))
    assert "this coverage is not active" in found(claim_id)["insurance"]
    check.status = EligibilityCheck.ACTIVE
    check.save()
    assert found(claim_id) == {}


def test_a_patient_without_a_birth_date_is_found(priced):
    repository = system_repository()
    jane = repository.read("Patient", "pat-jane").as_dict()
    jane.pop("birthDate")
    repository.update("Patient", "pat-jane", jane)
    claim_id = claim_for(priced, lines())
    assert "date of birth is missing" in found(claim_id)["patient"]



def test_a_filing_limit_outside_30_to_3650_days_is_refused_at_its_field():
    from mederi.billing.services import routing_problems

    routing = {"transport": "standin", "sender_id": "S", "receiver_id": "R", "usage": "T", "timeout_seconds": 5}
    assert "between 30 and 3650" in routing_problems({**routing, "timely_filing_days": 5})["timely_filing_days"]
    assert "timely_filing_days" not in routing_problems({**routing, "timely_filing_days": 180})
