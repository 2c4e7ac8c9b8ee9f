"""270 inquiries and 271 answers: building, reading, the payer stand-in, and what a front desk sees."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mederi.billing.x12 import codes
from mederi.billing.x12.eligibility import (
    Dependent,
    EligibilityInquiry,
    Limit,
    PayerPlan,
    build_270,
    build_271_for,
    parse_270,
    parse_271,
)
from mederi.billing.x12.envelope import X12Error, parse
from mederi.core.npi import npi_is_valid

DATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "x12"


def sample(name: str) -> str:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not available (data sets live beside the project)")
    return path.read_text()


def an_inquiry(**changes) -> EligibilityInquiry:
    values = dict(
        payer_name="ACME HEALTH",
        payer_id="ACME1",
        provider_name="MEDERI FAMILY CLINIC",
        provider_npi="1234567893",
        subscriber_first_name="JANE",
        subscriber_last_name="DOE",
        member_id="W123456789",
        date_of_birth=dt.date(1980, 2, 3),
        gender="F",
        service_types=["30", "98"],
        service_date=dt.date(2025, 1, 2),
        trace_number="TRACE-1",
        submitter_id="MEDERI",
        receiver_id="ACME",
        control_number=42,
        created=dt.datetime(2025, 1, 2, 9, 30),
    )
    return EligibilityInquiry(**{**values, **changes})


GOLD = PayerPlan(
    plan_name="GOLD PPO",
    group_number="GRP-77",
    copays={"98": Decimal("25.00"), "UC": Decimal("50.00")},
    deductible_individual=Decimal("1500.00"),
    deductible_individual_remaining=Decimal("700.50"),
    deductible_family=Decimal("3000.00"),
    deductible_family_remaining=Decimal("2100.00"),
    coinsurance_percent=Decimal("0.2"),
    out_of_pocket=Decimal("6000.00"),
    out_of_pocket_remaining=Decimal("5200.00"),
    insurance_type="PR",
    plan_begin=dt.date(2025, 1, 1),
    plan_end=dt.date(2025, 12, 31),
)


def recounted(text: str) -> str:
    """The text with SE01 set to the real segment count, after a test has added segments by hand."""
    segments = text.split("~")
    start = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    segments[end] = "*".join(["SE", str(end - start + 1), segments[end].split("*")[2]])
    return "~".join(segments)


def lookup(member_id, last_name, date_of_birth):
    return GOLD if (member_id, last_name) == ("W123456789", "DOE") else None


# ---------------------------------------------------------------- the shared sample files


@pytest.mark.dataset
def test_sample_270_reads_back_as_an_inquiry():
    [inquiry] = parse_270(sample("subscriber-health-benefit-check.270"))
    assert (inquiry.subscriber_first_name, inquiry.subscriber_last_name) == ("ROBERT", "SMITH")
    assert inquiry.member_id == "11122333301"
    assert inquiry.date_of_birth == dt.date(1943, 5, 19)
    assert inquiry.service_types == ["30"] and inquiry.service_date == dt.date(2006, 5, 1)
    assert (inquiry.payer_name, inquiry.payer_id) == ("ABC COMPANY", "842610001")
    assert (inquiry.provider_name, inquiry.provider_id_qualifier) == ("BONE AND JOINT CLINIC", "SV")
    assert (inquiry.trace_number, inquiry.trace_originator) == ("93175-012547", "9877281234")
    assert inquiry.patient_is_subscriber


@pytest.mark.dataset
def test_sample_271_gives_plan_copays_and_primary_care_provider():
    [result] = parse_271(sample("subscriber-health-benefit-check.271"))
    assert result.rejections == [] and result.warnings == []
    assert result.active is True
    assert result.plan_name == "GOLD 123 PLAN"
    assert result.subscriber.name == "JOHN SMITH" and result.member_id == "123456789"
    assert result.patient_is_subscriber
    assert result.subscriber.date_of_birth == dt.date(1963, 5, 19) and result.subscriber.gender == "M"
    assert str(result.subscriber.address) == "15197 BROADWAY AVENUE, APT 215, KANSAS CITY, MO 64108"
    assert result.trace_number == "93175-012547" and result.trace_numbers[0].type == "2"
    assert (result.payer.name, result.payer.id) == ("ABC COMPANY", "841610001")
    assert result.coverage_start == dt.date(2006, 1, 1) and result.dates["346"].meaning == "Plan begin"
    assert result.copay("98") == Decimal("10.00")
    assert result.copay("98", in_network=False) == Decimal("30.00")
    assert result.copay("UC") == Decimal("10.00")
    assert result.copay("48") is None  # inpatient is not among the services the copay lines name
    copay = result.benefits[3]
    assert (copay.meaning, copay.time_period_name, copay.network_name) == ("Co-payment", "per visit", "in network")
    assert copay.insurance_type_name == "HMO" and copay.plan_description == "GOLD 123 PLAN"
    assert [s.name for s in copay.service_types][:3] == ["Medical care", "Chiropractic", "Dental care"]
    assert copay.service_type_codes[-1] == "UC" and copay.service_types[-1].name == "Urgent care"
    primary_care = result.benefits[1]
    assert primary_care.meaning == "Primary care provider"
    assert [(p.entity_code, p.name, p.id) for p in primary_care.related_entities] == [("P3", "MARCUS JONES", "0202034")]


@pytest.mark.dataset
def test_sample_error_271_explains_the_rejection():
    text = sample("subscriber-health-benefit-check-error.271")
    [result] = parse_271(text)
    assert result.subscriber is None and result.benefits == [] and result.active is None
    assert result.provider.name == "BONE AND JOIN CLINIC"
    [rejection] = result.rejections
    assert (rejection.code, rejection.action_code, rejection.level, rejection.valid_request) == (
        "50",
        "N",
        "provider",
        True,
    )
    assert rejection.reason == "This provider is not allowed to make eligibility inquiries with this payer"
    assert rejection.action == "Do not resubmit: resubmission is not allowed"
    assert str(rejection).startswith("This provider is not allowed")
    # The payer's SE02 does not echo ST02: tolerated by default, noted, and refused when strict.
    assert result.warnings == ["SE02 control number 4323 does not match ST02 4321 (segment 10, SE)"]
    with pytest.raises(X12Error, match="SE02 control number 4323 does not match ST02 4321"):
        parse_271(text, strict=True)


@pytest.mark.dataset
def test_a_claim_is_not_an_eligibility_response():
    with pytest.raises(X12Error) as caught:
        parse_271(sample("demo.example1.837"))
    assert caught.value.message == "this is an 837 (health care claim), not a 271 (eligibility response)"
    with pytest.raises(X12Error, match=r"this is a 271 \(eligibility response\), not a 270"):
        parse_270(sample("subscriber-health-benefit-check.271"))


@pytest.mark.dataset
def test_the_stand_in_payer_answers_the_sample_270():
    answer = build_271_for(sample("subscriber-health-benefit-check.270"), lambda *_: None)
    [result] = parse_271(answer, strict=True)
    assert result.trace_number == "93175-012547" and result.member_id == "11122333301"
    assert [r.code for r in result.rejections] == ["75"]


# ---------------------------------------------------------------- building a 270


def test_270_follows_the_guide_loops():
    text = build_270(an_inquiry())
    body = parse(text).transactions[0].body
    assert [s[0] for s in body] == ["BHT", "HL", "NM1", "HL", "NM1", "HL", "TRN", "NM1", "DMG", "DTP", "EQ", "EQ"]
    assert [s[3] for s in body if s[0] == "HL"] == ["20", "21", "22"]
    assert "NM1*1P*2*MEDERI FAMILY CLINIC*****XX*1234567893~" in text
    assert "NM1*IL*1*DOE*JANE****MI*W123456789~" in text
    assert "TRN*1*TRACE-1*9000MEDERI~" in text and "DTP*291*D8*20250102~" in text
    assert text.startswith("ISA*00*") and "GS*HS*MEDERI*ACME*" in text


def test_270_for_a_dependent_puts_the_patient_in_2000d():
    child = Dependent("TIM", "DOE", dt.date(2015, 5, 5), "M", "19")
    body = parse(build_270(an_inquiry(dependent=child))).transactions[0].body
    ids = [s[0] for s in body]
    assert ids.index("TRN") > ids.index("DMG")  # the trace moves to the dependent level
    assert ["HL", "3", "2", "22", "1"] in body and ["HL", "4", "3", "23", "0"] in body
    assert ["NM1", "03", "1", "DOE", "TIM"] in body and ["INS", "N", "19"] in body
    [back] = parse_270(build_270(an_inquiry(dependent=child)))
    assert back.dependent == child and back.member_id == "W123456789"


def test_270_refuses_an_incomplete_inquiry_with_every_problem_named():
    with pytest.raises(X12Error) as caught:
        build_270(an_inquiry(member_id="", provider_npi="1234567890", service_types=["30", "ZZ"], gender="X"))
    message = caught.value.message
    assert message.startswith("the eligibility inquiry can't be sent: ")
    for part in ("the member ID is missing", "'1234567890' is not a valid NPI", "'ZZ' is not an X12 service type",
                 "gender must be M, F or U"):  # fmt: skip
        assert part in message
    with pytest.raises(X12Error, match="contains the element separator"):
        build_270(an_inquiry(subscriber_last_name="DOE*SMITH"))


# ---------------------------------------------------------------- the payer stand-in and reading its 271


def test_271_round_trip_gives_the_front_desk_its_figures():
    [result] = parse_271(build_271_for(build_270(an_inquiry()), lookup), strict=True)
    assert result.active is True and result.rejected is False
    assert (result.plan_name, result.group_number) == ("GOLD PPO", "GRP-77")
    assert (result.coverage_start, result.coverage_end) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert result.trace_number == "TRACE-1" and result.subscriber.name == "JANE DOE"
    assert result.copay("98") == Decimal("25.00") and result.copay("UC") == Decimal("50.00")
    assert result.copay("98", in_network=False) is None
    assert result.coinsurance() == Decimal("0.2")
    assert result.deductible() == Limit(total=Decimal("1500.00"), remaining=Decimal("700.50"))
    assert result.deductible(family=True).remaining == Decimal("2100.00")
    assert result.out_of_pocket().total == Decimal("6000.00")
    assert result.deductible(in_network=False).total is None
    status = result.benefits[0]
    assert status.service_type_codes == ["30", "98"] and status.insurance_type_name.startswith("Preferred provider")


def test_271_for_a_dependent_answers_for_the_child():
    child = Dependent("TIM", "DOE", dt.date(2015, 5, 5), "M", "19")
    subscriber, patient = parse_271(build_271_for(build_270(an_inquiry(dependent=child)), lookup))
    assert subscriber.patient_is_subscriber and subscriber.benefits == []
    assert not patient.patient_is_subscriber
    assert patient.patient.name == "TIM DOE" and patient.patient.relationship == "19"
    assert patient.subscriber.name == "JANE DOE" and patient.member_id == "W123456789"
    assert patient.copay("98") == Decimal("25.00") and patient.trace_number == "TRACE-1"


def test_unknown_member_is_rejected_in_plain_words():
    [result] = parse_271(build_271_for(build_270(an_inquiry(member_id="NOPE")), lookup))
    assert "AAA*Y**75*C" in build_271_for(build_270(an_inquiry(member_id="NOPE")), lookup)
    [rejection] = result.rejections
    assert rejection.level == "subscriber" and rejection.code == "75"
    assert rejection.reason == "The payer can't find this member: check the member ID, name and date of birth"
    assert rejection.action == "Please correct and resubmit"
    assert result.active is None and result.copay("98") is None


def test_inactive_plan_reads_as_inactive():
    inactive = PayerPlan(active=False, plan_name="OLD PLAN")
    [result] = parse_271(build_271_for(build_270(an_inquiry()), lambda *_: inactive))
    assert result.active is False and result.plan_name == "OLD PLAN"
    assert result.benefits[0].meaning == "Inactive"


def test_rejections_at_every_level_reach_the_patient():
    text = build_271_for(build_270(an_inquiry()), lookup, when=dt.datetime(2025, 1, 2, 9, 31))
    text = text.replace("HL*1**20*1~", "HL*1**20*1~AAA*N**42*R~")
    text = text.replace("XX*1234567893~", "XX*1234567893~AAA*N**51*C~")
    text = text.replace("EB*B**UC*PR**27*50.00*****Y~", "EB*B**UC*PR**27*50.00*****Y~AAA*N**AG*C~MSG*CALL US~")
    [result] = parse_271(recounted(text))
    assert [(r.level, r.code) for r in result.rejections] == [("request", "42"), ("provider", "51"), ("benefit", "AG")]
    assert result.rejections[0].action == "Resubmission allowed"
    assert result.rejections[0].valid_request is False
    assert result.benefits[2].messages == ["CALL US"]


def test_deductible_prefers_exact_network_then_both_networks():
    text = build_271_for(build_270(an_inquiry()), lookup)
    text = text.replace(
        "EB*C*IND*30*PR**23*1500.00*****Y~", "EB*C*IND*30*PR**23*1500.00*****W~EB*C*IND*30*PR**23*900*****Y~"
    )
    [result] = parse_271(recounted(text))
    assert result.deductible().total == Decimal("900")
    assert result.deductible(in_network=False).total == Decimal("1500.00")


def test_garbled_amounts_and_dates_are_named():
    text = build_271_for(build_270(an_inquiry()), lookup)
    with pytest.raises(X12Error, match=r"EB07 \(amount\) should be a number, but it is '2O.00'"):
        parse_271(text.replace("*25.00*", "*2O.00*"))
    with pytest.raises(X12Error, match="DMG02 .* is not a real date: '19800231'"):
        parse_271(text.replace("19800203", "19800231"))


def test_every_guide_reject_reason_has_plain_wording():
    guide = ("04 15 33 35 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 67 68 69 70 71 "
             "72 73 74 75 76 77 78 79 80 97 AA AE AF AG AO CI E8 IA MA T4").split()  # fmt: skip
    for code in guide:
        assert code in codes.REJECT_REASONS and "reason code" not in codes.reject_reason(code)
    assert codes.reject_reason("ZZ") == "The payer rejected the inquiry (reason code ZZ)"
    assert set("CNPRSWXY") <= set(codes.FOLLOW_UP_ACTIONS)
    for code in ("1", "30", "33", "35", "47", "48", "50", "86", "88", "98", "AL", "MH", "UC", "BY"):
        assert code in codes.SERVICE_TYPES
    assert codes.service_type_name("BY") == "Physician visit - office: sick"
    assert codes.service_type_name("Q9") == "Service type Q9"  # a code outside the 5010 list still reads


# ---------------------------------------------------------------- properties

_name = st.from_regex(r"[A-Z][A-Z' .-]{0,20}[A-Z]", fullmatch=True)
_date = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
_money = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)


@st.composite
def _npis(draw):
    stem = draw(st.from_regex(r"[1-9][0-9]{8}", fullmatch=True))
    return next(stem + check for check in "0123456789" if npi_is_valid(stem + check))


@st.composite
def _people(draw):
    born = draw(st.none() | _date)
    return born, draw(st.sampled_from(["", "M", "F", "U"])) if born else ""


@st.composite
def _inquiries(draw):
    born, gender = draw(_people())
    dependent = None
    if draw(st.booleans()):
        child_born, child_gender = draw(_people())
        dependent = Dependent(
            draw(_name), draw(_name), child_born, child_gender, draw(st.sampled_from(["01", "19", "34"]))
        )
    return EligibilityInquiry(
        payer_name=draw(_name), payer_id=draw(st.from_regex(r"[A-Z0-9]{1,10}", fullmatch=True)),
        provider_name=draw(_name), provider_npi=draw(_npis()), provider_is_person=draw(st.booleans()),
        subscriber_first_name=draw(_name), subscriber_last_name=draw(_name),
        member_id=draw(st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True)), date_of_birth=born, gender=gender,
        dependent=dependent, service_types=draw(st.lists(st.sampled_from(sorted(codes.SERVICE_TYPES)), min_size=1,
                                                          max_size=5, unique=True)),
        service_date=draw(st.none() | _date), trace_number=draw(st.from_regex(r"[A-Z0-9-]{1,30}", fullmatch=True)),
        trace_originator="9" + draw(st.from_regex(r"[0-9]{9}", fullmatch=True)),
        submitter_id=draw(st.from_regex(r"[A-Z0-9]{1,15}", fullmatch=True)),
        receiver_id=draw(st.from_regex(r"[A-Z0-9]{1,15}", fullmatch=True)),
        control_number=draw(st.integers(min_value=1, max_value=999_999_999)), usage=draw(st.sampled_from("TP")),
        reference_id=draw(st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True)),
        created=draw(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2068, 12, 31))).replace(
            second=0, microsecond=0
        ),
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(_inquiries())
def test_270_round_trips_every_field(inquiry):
    assert parse_270(build_270(inquiry)) == [inquiry]


@st.composite
def _plans(draw):
    maybe_money = st.none() | _money
    return PayerPlan(
        active=True,
        plan_name=draw(_name),
        group_number=draw(st.from_regex(r"[A-Z0-9]{0,12}", fullmatch=True)),
        copays=draw(st.dictionaries(st.sampled_from(sorted(codes.SERVICE_TYPES)), _money, max_size=6)),
        deductible_individual=draw(maybe_money),
        deductible_individual_remaining=draw(maybe_money),
        deductible_family=draw(maybe_money),
        deductible_family_remaining=draw(maybe_money),
        coinsurance_percent=draw(st.none() | st.decimals(min_value=0, max_value=1, places=2)),
        out_of_pocket=draw(maybe_money),
        out_of_pocket_remaining=draw(maybe_money),
        in_network=draw(st.booleans()),
    )


@settings(max_examples=150, deadline=None)
@given(_plans(), _inquiries())
def test_random_plans_survive_271_round_trip(plan, inquiry):
    results = parse_271(build_271_for(build_270(inquiry), lambda *_: plan), strict=True)
    result = results[-1]  # the patient: the dependent when there is one
    assert result.patient_is_subscriber == (inquiry.dependent is None)
    assert result.member_id == inquiry.member_id and result.trace_number == inquiry.trace_number
    assert result.active is True and result.plan_name == plan.plan_name
    assert result.group_number == plan.group_number
    network = plan.in_network
    for service, amount in plan.copays.items():
        assert result.copay(service, in_network=network) == amount
        assert result.copay(service, in_network=not network) is None
    assert result.coinsurance(in_network=network) == plan.coinsurance_percent
    assert result.deductible(network) == Limit(plan.deductible_individual, plan.deductible_individual_remaining)
    family = result.deductible(network, family=True)
    assert (family.total, family.remaining) == (plan.deductible_family, plan.deductible_family_remaining)
    pocket = result.out_of_pocket(network)
    assert (pocket.total, pocket.remaining) == (plan.out_of_pocket, plan.out_of_pocket_remaining)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_damaged_271_raises_only_x12_error(data):
    text = build_271_for(build_270(an_inquiry()), lookup)
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    junk = data.draw(st.text(alphabet="*~^:0123456789ABEHLNMST ", max_size=6))
    for damaged in (text[:at] + junk + text[at:], text[:at] + junk + text[at + len(junk) :]):
        for reader in (parse_271, parse_270):
            try:
                reader(damaged)
            except X12Error as error:
                assert error.message
