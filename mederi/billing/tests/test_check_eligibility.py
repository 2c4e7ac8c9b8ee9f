"""Eligibility checks end to end: a 270 over real HTTPS and SFTP to a payer stand-in, the 271 read,
and what is stored (the FHIR pair, the raw X12 files, the check's index row)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from mederi.billing import services
from mederi.billing.eligibility_resources import BENEFIT_TYPE, FAILURE_SYSTEM
from mederi.billing.models import EligibilityCheck, Interchange, PayerConnection
from mederi.billing.services import EligibilityError, check_eligibility
from mederi.billing.x12.eligibility import parse_270
from mederi.conftest import record_row_counts
from mederi.core import systems
from mederi.core.errors import Forbidden

from .conftest import connect, context_of, system_repository


def stored(resource_type: str, logical_id: str) -> dict:
    return system_repository().read(resource_type, logical_id).as_dict()


def nothing_stored() -> dict:
    return {"record": record_row_counts(), "interchanges": Interchange.objects.count(),
            "checks": EligibilityCheck.objects.count()}


@pytest.mark.parametrize("transport", ["https", "sftp"])
def test_an_active_plan_comes_back_with_what_the_patient_will_owe(transport, request, front_desk, standin):
    request.getfixturevalue(transport)
    received_before = len(standin.received)

    summary = check_eligibility(front_desk, "cov-jane", service_types=("30", "98"))

    assert summary.status == "active" and summary.active is True
    assert summary.label == "Active"
    assert summary.plan_name == "GOLD PPO"
    assert summary.payer_name == "Acme Health Plan"
    assert summary.copay == Decimal("25.00") and summary.copay_service_type == "98"
    assert summary.deductible == Decimal("1500.00")
    assert summary.deductible_remaining == Decimal("700.50")
    assert summary.coinsurance_percent == Decimal("20")
    assert summary.out_of_pocket_remaining == Decimal("5200.00")
    assert summary.messages == ()
    # The stand-in really got our 270 over that transport, for Jane, asking about the two service types.
    sent_over, kind, payload = standin.received[received_before]
    assert (sent_over, kind) == (transport, "270")
    [inquiry] = parse_270(payload)
    assert (inquiry.member_id, inquiry.subscriber_last_name, inquiry.service_types) == ("M100", "Doe", ["30", "98"])
    assert inquiry.provider_npi == "1612345672" and inquiry.payer_id == "ACME01"


def test_the_fhir_pair_is_stored_and_linked(https, front_desk):
    summary = check_eligibility(front_desk, "cov-jane", service_types=("30", "98"))

    request = stored("CoverageEligibilityRequest", summary.request_id)
    response = stored("CoverageEligibilityResponse", summary.response_id)
    assert request["patient"] == {"reference": "Patient/pat-jane"}
    assert request["insurance"] == [{"focal": True, "coverage": {"reference": "Coverage/cov-jane"}}]
    assert request["insurer"]["reference"] == "Organization/payer-acme"
    assert request["provider"] == {"reference": "Organization/practice"}
    assert [item["category"]["coding"][0]["code"] for item in request["item"]] == ["30", "98"]
    assert request["identifier"][0]["system"] == systems.ELIGIBILITY_TRACE

    assert response["request"] == {"reference": f"CoverageEligibilityRequest/{summary.request_id}"}
    assert response["patient"] == {"reference": "Patient/pat-jane"}
    assert response["insurer"]["reference"] == "Organization/payer-acme"
    assert response["outcome"] == "complete" and "error" not in response
    insurance = response["insurance"][0]
    assert insurance["coverage"] == {"reference": "Coverage/cov-jane"} and insurance["inforce"] is True
    assert insurance["benefitPeriod"] == {"start": "2026-01-01", "end": "2026-12-31"}
    office = next(i for i in insurance["item"] if i["category"]["coding"][0]["code"] == "98")
    assert office["network"]["coding"][0]["code"] == "in"
    assert office["benefit"] == [{"type": {"coding": [{"system": BENEFIT_TYPE, "code": "copay",
                                                        "display": "Copayment per service"}],
                                           "text": "Copayment per service"},
                                  "allowedMoney": {"value": Decimal("25.00"), "currency": "USD"}}]
    plan = next(i for i in insurance["item"] if i["category"]["coding"][0]["code"] == "30"
                and i["unit"]["coding"][0]["code"] == "individual")
    deductible = next(b for b in plan["benefit"] if b["type"]["coding"][0]["code"] == "deductible")
    assert deductible["allowedMoney"]["value"] == Decimal("1500.00")
    assert deductible["usedMoney"]["value"] == Decimal("799.50")
    family = next(i for i in insurance["item"] if i["unit"]["coding"][0]["code"] == "family")
    assert family["benefit"][0]["allowedMoney"]["value"] == Decimal("3000.00")

    files = list(Interchange.objects.filter(request_id=summary.request_id).order_by("id"))
    assert [(f.direction, f.kind) for f in files] == [("out", "270"), ("in", "271")]
    assert files[0].content.startswith("ISA") and "NM1*IL*1*Doe*Jane" in files[0].content
    assert "EB*1**30^98*PR*GOLD PPO" in files[1].content
    assert files[0].payer_id == "payer-acme"
    check = EligibilityCheck.objects.get(request_id=summary.request_id)
    assert (check.coverage_id, check.status, check.answered) == ("cov-jane", "active", True)


def test_a_child_on_a_parents_plan_is_asked_about_as_a_dependent(https, front_desk, standin):
    summary = check_eligibility(front_desk, "cov-child")

    [inquiry] = parse_270(standin.received[-1][2])
    assert (inquiry.subscriber_first_name, inquiry.subscriber_last_name) == ("Maria", "Nunez")  # X12 is plain ASCII
    assert inquiry.dependent is not None
    assert (inquiry.dependent.first_name, inquiry.dependent.relationship) == ("Lucia", "19")
    assert summary.status == "active" and summary.patient_id == "pat-child"


def test_an_ended_plan_says_so(https, front_desk):
    summary = check_eligibility(front_desk, "cov-ended")

    assert summary.status == "inactive" and summary.active is False
    assert summary.label == "Not active"
    assert summary.messages == ("Coverage not active (ended 2025-12-31)",)
    assert stored("CoverageEligibilityResponse", summary.response_id)["insurance"][0]["inforce"] is False


def test_a_member_the_payer_cannot_find_is_a_rejection_in_words(https, front_desk):
    summary = check_eligibility(front_desk, "cov-unknown")

    assert summary.status == "rejected" and summary.active is None
    assert summary.messages == ("The payer can't find this member: check the member ID, name and date of birth. "
                                "Please correct and resubmit.",)
    response = stored("CoverageEligibilityResponse", summary.response_id)
    assert response["outcome"] == "error"
    assert response["error"][0]["code"]["coding"][0] == {
        "system": systems.X12_REJECT_REASON, "code": "75",
        "display": "The payer can't find this member: check the member ID, name and date of birth"}
    assert EligibilityCheck.objects.get(response_id=summary.response_id).answered is True


def test_a_payer_that_cannot_be_reached_gives_a_clear_message_and_an_error_outcome(practice, front_desk, closed_port):
    connect(PayerConnection.HTTPS, url=f"https://127.0.0.1:{closed_port}/core")

    summary = check_eligibility(front_desk, "cov-jane")

    assert summary.status == "failed" and summary.label == "Check failed"
    assert summary.messages == ("Acme Health Plan could not be reached (could not reach the clearinghouse at "
                                f"https://127.0.0.1:{closed_port}/core (connection refused: is the server running?)); "
                                "try again in a few minutes.",)
    response = stored("CoverageEligibilityResponse", summary.response_id)
    assert response["outcome"] == "error"
    assert response["error"][0]["code"]["coding"][0]["system"] == FAILURE_SYSTEM
    assert stored("CoverageEligibilityRequest", summary.request_id)["patient"] == {"reference": "Patient/pat-jane"}
    assert [f.kind for f in Interchange.objects.filter(request_id=summary.request_id)] == ["270"]
    assert EligibilityCheck.objects.get(request_id=summary.request_id).answered is False


def test_a_payer_that_does_not_answer_in_time_is_reported_in_seconds(https, front_desk, payer):
    released = threading.Event()
    payer.override = lambda payload, kind: released.wait(10) and None
    https.timeout_seconds = 1
    https.save()
    try:
        summary = check_eligibility(front_desk, "cov-jane")
    finally:
        released.set()

    assert summary.status == "failed"
    assert summary.messages == ("Acme Health Plan did not answer in 1 s; try again.",)


def test_an_unreadable_271_is_kept_for_support(https, front_desk, payer):
    payer.override = lambda payload, kind: b"ISA*this is not an interchange~"

    summary = check_eligibility(front_desk, "cov-jane")

    kept = Interchange.objects.get(request_id=summary.request_id, kind="271")
    assert kept.content == "ISA*this is not an interchange~"
    assert summary.status == "failed"
    [message] = summary.messages
    assert message.startswith("The answer from Acme Health Plan could not be read (")
    assert message.endswith(f"The file is kept for support as file {kept.pk}.")


def test_a_999_instead_of_a_271_is_unreadable_too(https, front_desk, payer):
    from mederi.billing.clearinghouse.tests.conftest import ANSWER_999

    payer.override = lambda payload, kind: ANSWER_999

    summary = check_eligibility(front_desk, "cov-jane")

    assert summary.status == "failed"
    assert "this is a 999 (implementation acknowledgment), not a 271" in summary.messages[0]


@pytest.mark.parametrize("breakage, message", [
    (lambda: system_repository().update("Organization", "payer-acme", {
        "resourceType": "Organization", "id": "payer-acme", "name": "Acme Health Plan"}),
     "Acme Health Plan has no payer ID: add it in the payer directory, then check again."),
    (lambda: PayerConnection.objects.all().delete(),
     "Acme Health Plan has no clearinghouse connection set up: an administrator can add one in the payer directory."),
    (lambda: PayerConnection.objects.update(active=False),
     "The clearinghouse connection of Acme Health Plan is switched off in the payer directory."),
    (lambda: system_repository().update("Organization", "practice", {
        "resourceType": "Organization", "id": "practice", "name": "Riverside",
        "type": [{"coding": [{"system": systems.ORGANIZATION_TYPE, "code": "prov"}]}]}),
     "The practice's NPI is missing"),
])
def test_a_check_that_cannot_be_made_says_what_to_fix_and_stores_nothing(https, front_desk, breakage, message):
    breakage()
    before = nothing_stored()

    with pytest.raises(EligibilityError) as raised:
        check_eligibility(front_desk, "cov-jane")

    assert raised.value.message.startswith(message)
    assert nothing_stored() == before


def test_a_check_needs_the_right_to_record_insurance(https, front_desk):
    before = nothing_stored()

    for who, roles in (("audrey", ("auditor",)), ("nina", ("nurse",))):
        with pytest.raises(Forbidden):
            check_eligibility(context_of(who, *roles), "cov-jane")

    assert nothing_stored() == before


def test_the_biller_can_check_too(https):
    assert check_eligibility(context_of("bill", "biller"), "cov-jane").status == "active"


def test_when_is_the_date_of_service_sent(https, front_desk, standin):
    import datetime as dt

    summary = check_eligibility(front_desk, "cov-jane", when=dt.date(2026, 12, 1))

    [inquiry] = parse_270(standin.received[-1][2])
    assert inquiry.service_date == dt.date(2026, 12, 1)
    assert summary.service_date == dt.date(2026, 12, 1)


def test_names_are_sent_as_plain_x12_text():
    assert services.x12_text("  Núñez*Smith~Jr ", 60) == "Nunez Smith Jr"
    assert services.x12_text("O'Brien-Łukasz", 60) == "O'Brien-Lukasz"
    assert services.x12_text("Gößling Ørsted", 8) == "Gossling"
