"""The FHIR shape of eligibility answers: valid R4, and the money a payer sent read back to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mederi.billing.eligibility_resources import (
    NO_ANSWER,
    CheckFacts,
    answered_response,
    failed_response,
    request_resource,
    summary_of,
)
from mederi.billing.templatetags.billing_format import money, percent
from mederi.billing.x12.eligibility import Dependent, EligibilityInquiry, PayerPlan, build_270, build_271_for, parse_271
from mederi.fhir import jsonio, validation

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "x12"
FACTS = CheckFacts("req-1", "resp-1", "pat-1", "cov-1", "payer-1", "Acme Health Plan", "practice",
                   dt.date(2026, 11, 3), dt.datetime(2026, 11, 2, 7, 0, tzinfo=dt.timezone.utc), ("30", "98"), "T1")


def inquiry(dependent: Dependent | None = None) -> EligibilityInquiry:
    return EligibilityInquiry(
        payer_name="ACME", payer_id="ACME01", provider_name="RIVERSIDE", provider_npi="1612345672",
        subscriber_first_name="JANE", subscriber_last_name="DOE", member_id="M100", date_of_birth=dt.date(1980, 2, 3),
        gender="F", dependent=dependent, service_types=["30", "98"], trace_number="T1", submitter_id="RIVERSIDE",
        receiver_id="ACME", created=dt.datetime(2026, 11, 2, 7, 0),
    )


def answer(plan: PayerPlan | None, dependent: Dependent | None = None):
    text = build_271_for(build_270(inquiry(dependent)), lambda member_id, last, born: plan)
    return parse_271(text)[-1]


def stored_form(resource: dict) -> dict:
    """The resource as the record hands it back: through its JSON text."""
    return jsonio.loads(jsonio.dumps({**resource, "id": FACTS.response_id}))


def assert_valid(resource: dict) -> None:
    assert validation.validate_resource(resource) == []


money_amounts = st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2, allow_nan=False,
                            allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(total=money_amounts, share=st.decimals(min_value=0, max_value=1, places=2), copay=money_amounts,
       coinsurance=st.decimals(min_value=0, max_value=1, places=3), oop=money_amounts)
def test_the_money_a_payer_sends_is_read_back_exactly(total, share, copay, coinsurance, oop):
    remaining = (total * share).quantize(Decimal("0.01"))
    plan = PayerPlan(plan_name="GOLD", copays={"98": copay}, deductible_individual=total,
                     deductible_individual_remaining=remaining, coinsurance_percent=coinsurance,
                     out_of_pocket=oop, out_of_pocket_remaining=oop)
    response = answered_response(FACTS, answer(plan))
    summary = summary_of(stored_form(response))

    assert summary.copay == copay
    assert summary.deductible == total and summary.deductible_remaining == remaining
    assert summary.out_of_pocket == oop and summary.out_of_pocket_remaining == oop
    assert summary.coinsurance_percent == coinsurance * 100
    assert_valid(response)


@given(amount=st.one_of(st.none(), money_amounts, money_amounts.map(lambda d: -d)))
def test_money_is_written_to_the_cent_with_a_dollar_sign(amount):
    text = money(amount)
    if amount is None:
        assert text == "—"
    else:
        assert Decimal(text.replace("$", "").replace(",", "")) == amount.quantize(Decimal("0.01"))


def test_percentages_keep_their_fraction():
    assert percent(Decimal("12.5")) == "12.5 %"
    assert percent(Decimal("20")) == "20 %"
    assert percent(None) == "—"


def test_a_remaining_amount_without_a_total_is_kept():
    plan = PayerPlan(deductible_individual_remaining=Decimal("120.00"))

    summary = summary_of(stored_form(answered_response(FACTS, answer(plan))))

    assert summary.deductible is None and summary.deductible_remaining == Decimal("120.00")


@pytest.mark.parametrize("resource", [
    request_resource(FACTS),
    failed_response(FACTS, NO_ANSWER, "Acme Health Plan did not answer in 30 s; try again."),
    answered_response(FACTS, answer(None)),  # member not found
    answered_response(FACTS, answer(PayerPlan(active=False, plan_end=dt.date(2025, 12, 31)))),
    answered_response(FACTS, answer(PayerPlan(plan_name="GOLD", copays={"98": Decimal("25")}),
                                    Dependent("LUCIA", "NUNEZ", dt.date(2015, 4, 5), "F", "19"))),
], ids=["request", "no answer", "rejected", "inactive", "dependent"])
def test_every_kind_of_resource_is_valid_r4(resource):
    assert_valid({**resource, "id": "x"})


@pytest.mark.dataset
def test_every_271_in_the_shared_data_becomes_a_valid_response():
    files = sorted(DATA.glob("*.271")) if DATA.exists() else []
    if not files:
        pytest.skip(f"no 271 files in {DATA} (data sets live beside the project)")
    for path in files:
        for result in parse_271(path.read_text()):
            response = answered_response(FACTS, result)
            assert_valid({**response, "id": "x"}), path.name
            summary = summary_of(stored_form(response))
            assert summary.status in ("active", "inactive", "unknown", "rejected"), path.name
            if result.rejections:
                assert summary.status == "rejected" and summary.messages, path.name


def test_check_times_are_shown_on_the_practice_clock(settings):
    from mederi.billing.templatetags.billing_format import practice_time

    settings.MEDERI_PRACTICE_TIME_ZONE = "America/Chicago"

    assert practice_time(dt.datetime(2026, 11, 30, 18, 42, tzinfo=dt.timezone.utc)) == "2026-11-30 12:42 CST"
    assert practice_time(None) == "—"
