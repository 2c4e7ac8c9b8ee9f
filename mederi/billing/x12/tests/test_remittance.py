"""The 835 reader: the shared sample files, hand-made remittances, a balancing check, and properties."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mederi.billing.x12.envelope import X12Error
from mederi.billing.x12.remittance import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    ServiceLine,
    parse_835,
)
from mederi.billing.x12.remittance_writer import build_835

D = Decimal
DATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "x12"


def sample(name: str) -> str:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not available (data sets live beside the project)")
    return path.read_text()


def remittance(claims, adjustments=(), trace="EFT-1001") -> Remittance:
    claims = list(claims)
    total = sum((c.paid for c in claims), D("0")) - sum((a.amount for a in adjustments), D("0"))
    return Remittance(control_number="0001", handling="I", total=total, method="ACH", paid_on=dt.date(2026, 3, 2),
                      trace_number=trace, payer_trace_id="1999999999", payer_name="ACME HEALTH PLAN",
                      payer_id="ACME01", payee_name="RIVERSIDE FAMILY MEDICINE", payee_id_qualifier="XX",
                      payee_id="1612345672", produced_on=dt.date(2026, 3, 1), claims=claims,
                      provider_adjustments=list(adjustments))


def edit(text: str, old: str, new: str) -> str:
    """`text` with `old` replaced, its SE01 segment count kept true."""
    assert old in text
    text = text.replace(old, new)
    head, se, tail = text.partition("SE*")
    count = head[head.index("ST*835"):].count("~") + 1
    return head + se + str(count) + tail[tail.index("*"):]


# ---------------------------------------------------------------- the shared samples


@pytest.mark.dataset
def test_managed_care_sample_reads_claims_lines_and_adjustments():
    [advice] = parse_835(sample("managed-care.835"))
    assert (advice.total, advice.method, advice.trace_number) == (D("945.00"), "ACH", "7170066655")
    assert (advice.payer_name, advice.payee_name, advice.payee_id) == ("RUSHMORE LIFE", "ACME MEDICAL CENTER",
                                                                       "5544667733")
    first, second = advice.claims
    assert (first.claim_number, first.status, first.charge, first.paid) == ("5554555444", "1", D("800"), D("450"))
    assert first.adjustments == [Adjustment("CO", "A2", D("50.00"))]
    assert first.patient_last == "BUDD" and first.patient_member_id == "33344555510"
    [line] = first.lines
    assert (line.procedure, line.charge, line.paid, line.service_start) == ("99211", D("800"), D("500"),
                                                                           dt.date(2002, 3, 1))
    assert line.adjustments == [Adjustment("PR", "1", D("300.00"))]
    assert second.lines[0].adjustments == [Adjustment("PR", "1", D("600")), Adjustment("CO", "45", D("50"))]
    # its BPR16 (20002316) is no date: read as not given, and said so
    assert advice.paid_on is None and "BPR16" in advice.warnings[0]


@pytest.mark.dataset
def test_medicare_sample_balances_with_its_provider_adjustment_and_reads_moa_remarks():
    [advice] = parse_835(sample("medicare-part-a.835"))
    assert advice.total == D("150000.00") and advice.claims_paid == D("149998.73")
    assert advice.provider_adjustments == [ProviderAdjustment("6543210903", dt.date(2002, 12, 31), "CV", "CP",
                                                              D("-1.27"))]
    assert advice.payer_id == "999"  # REF*2U
    assert advice.claims[1].remarks == ["MA02"]


@pytest.mark.dataset
def test_secondary_sample_reads_composites_written_with_the_wrong_separator():
    [advice] = parse_835(sample("secondary-payment.835"))
    claim = advice.claims[1]
    assert claim.status == "2" and [line.procedure for line in claim.lines] == ["12345", "66543"]
    assert claim.lines[0].modifiers == ["26"] and claim.lines[1].allowed == D("500.00")
    assert claim.lines[1].adjustments == [Adjustment("PR", "1", D("150")), Adjustment("PR", "2", D("70")),
                                          Adjustment("CO", "42", D("85"))]
    assert any("'>'" in warning for warning in advice.warnings)


@pytest.mark.dataset
@pytest.mark.parametrize("name", ["managed-care.835", "medicare-part-a.835", "secondary-payment.835"])
def test_every_sample_survives_writing_and_reading_again(name):
    [advice] = parse_835(sample(name))
    [again] = parse_835(build_835(advice))
    again.control_number = advice.control_number
    assert again == advice


# ---------------------------------------------------------------- hand-made remittances


def full_claim(number="CLM-1", status="1") -> ClaimPayment:
    return ClaimPayment(
        claim_number=number, status=status, charge=D("250.00"), paid=D("120.00"), patient_responsibility=D("30.00"),
        filing_indicator="12", payer_claim_number="PCN77", facility_code="11", frequency="1",
        patient_last="DOE", patient_first="JANE", patient_member_id="M100", service_start=dt.date(2026, 2, 10),
        service_end=dt.date(2026, 2, 10), remarks=["N130"],
        lines=[
            ServiceLine(procedure="99214", modifiers=["25", "GT"], charge=D("180.00"), paid=D("100.00"),
                        units=D("1"), control_number=f"{number}-1", service_start=dt.date(2026, 2, 10),
                        service_end=dt.date(2026, 2, 10), allowed=D("130.00"), remarks=["M15"],
                        adjustments=[Adjustment("CO", "45", D("50.00")), Adjustment("PR", "2", D("30.00"))]),
            ServiceLine(procedure="36415", charge=D("70.00"), paid=D("20.00"), control_number=f"{number}-2",
                        service_start=dt.date(2026, 2, 10), service_end=dt.date(2026, 2, 10),
                        adjustments=[Adjustment("CO", "45", D("30.00")), Adjustment("OA", "23", D("20.00"))]),
        ],
    )


def test_a_written_remittance_reads_back_field_for_field():
    advice = remittance([full_claim(), full_claim("CLM-2", "22")],
                        [ProviderAdjustment("1612345672", dt.date(2026, 12, 31), "WO", "CLM-0", D("15.00")),
                         ProviderAdjustment("1612345672", dt.date(2026, 12, 31), "L6", "", D("-2.50"))])
    [again] = parse_835(build_835(advice))
    assert again == advice
    assert again.claims[1].is_reversal and again.claims[1].status_text == "reversal of a previous payment"


def test_several_reasons_in_one_cas_segment_are_all_read():
    text = build_835(remittance([full_claim()]))
    [advice] = parse_835(edit(text, "CAS*CO*45*30.00~CAS*OA*23*20.00", "CAS*CO*45*30.00**96*20.00"))
    assert advice.claims[0].lines[1].adjustments == [Adjustment("CO", "45", D("30")), Adjustment("CO", "96", D("20"))]


def test_an_unbalanced_file_is_refused_saying_by_how_much():
    text = build_835(remittance([full_claim()])).replace("BPR*I*120.00*", "BPR*I*125.50*")
    with pytest.raises(X12Error) as refused:
        parse_835(text)
    assert "does not balance" in str(refused.value) and "5.50 apart" in str(refused.value)


def test_a_debit_payment_balances_a_remittance_that_takes_money_back():
    advice = remittance([full_claim()], [ProviderAdjustment("1612345672", None, "72", "OLD-9", D("200.00"))])
    assert advice.total == D("-80.00")
    text = build_835(advice)
    assert "BPR*I*80.00*D*ACH" in text
    assert parse_835(text)[0].total == D("-80.00")


@pytest.mark.parametrize("change, words", [
    (("CLP*CLM-1*1*", "CLP*CLM-1*9*"), "not a claim status code"),
    (("CLP*CLM-1*1*250.00*", "CLP*CLM-1*1*2X0*"), "should be a number"),
    (("CAS*CO*45*50", "CAS*XX*45*50"), "not an adjustment group"),
    (("SVC*HC:99214:25:GT", "SVC*99214"), "qualifier and a procedure code"),
    (("TRN*1*EFT-1001*", "TRN*1**"), "TRN02"),
    (("CLP*CLM-1*", "CLP**"), "CLP01"),
])
def test_malformed_segments_are_refused_with_the_reason(change, words):
    text = build_835(remittance([full_claim()])).replace(*change)
    with pytest.raises(X12Error) as refused:
        parse_835(text)
    assert words in str(refused.value)


def test_a_file_without_an_835_says_what_it_holds():
    from mederi.billing.x12.envelope import write_interchange

    text = write_interchange([("999", [["AK1", "HC", "1", "005010X222A1"]], "005010X231A1")], sender_id="A",
                             receiver_id="B", control_number=5)
    with pytest.raises(X12Error, match="holds no 835 remittance .*999"):
        parse_835(text)


# ---------------------------------------------------------------- properties

money = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False)
code = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=6)
adjustments = st.lists(st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA", "PI"]), code, money), max_size=8)
dates = st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)))


@st.composite
def lines(draw):
    start = draw(dates)
    return ServiceLine(procedure=draw(code), charge=draw(money), paid=draw(money), qualifier="HC",
                       modifiers=draw(st.lists(st.sampled_from(["25", "59", "LT", "RT", "GT", "95"]), max_size=4)),
                       units=draw(st.one_of(st.none(), st.decimals(1, 99, places=0))), control_number=draw(code),
                       service_start=start, service_end=start if draw(st.booleans()) else draw(dates),
                       allowed=draw(st.one_of(st.none(), money)), adjustments=draw(adjustments),
                       remarks=draw(st.lists(code, max_size=3)))


@st.composite
def claims(draw):
    return ClaimPayment(claim_number=draw(code), status=draw(st.sampled_from(["1", "2", "3", "4", "19", "20", "22"])),
                        charge=draw(money), paid=draw(money), patient_responsibility=draw(st.one_of(st.none(), money)),
                        patient_last=draw(st.sampled_from(["DOE", "ROE"])), patient_first=draw(st.sampled_from(["", "J"])),
                        patient_member_id=draw(code), service_start=draw(dates), service_end=draw(dates),
                        adjustments=draw(adjustments), remarks=draw(st.lists(code, max_size=7)),
                        lines=draw(st.lists(lines(), max_size=3)))


provider_adjustments = st.lists(st.builds(ProviderAdjustment, st.just("1612345672"), st.just(dt.date(2026, 12, 31)),
                                          st.sampled_from(["WO", "FB", "L6", "72", "CS"]), code,
                                          st.decimals(-999, 999, places=2)), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claims(), max_size=4), provider_adjustments)
def test_any_written_remittance_reads_back_as_written(claim_list, adjusted):
    advice = remittance(claim_list, adjusted)
    [again] = parse_835(build_835(advice))
    assert again == advice


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_damaged_files_are_refused_with_an_x12_error_and_nothing_else(data):
    text = build_835(remittance([full_claim(), full_claim("CLM-2")]))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, max(len(text) - 1, 0)))
        kind = data.draw(st.sampled_from(["delete", "insert", "replace", "cut"]))
        char = data.draw(st.sampled_from(list("*~:^0123456789.-ABC \n")))
        if kind == "delete":
            text = text[:position] + text[position + 1:]
        elif kind == "insert":
            text = text[:position] + char + text[position:]
        elif kind == "replace":
            text = text[:position] + char + text[position + 1:]
        else:
            text = text[:position]
        if not text:
            break
    try:
        result = parse_835(text)
    except X12Error as error:
        assert str(error)
    else:
        assert all(r.total == r.claims_paid - r.provider_adjusted for r in result)
