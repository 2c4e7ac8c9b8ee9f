"""Every 837P the claims code writes validates with 0 errors in pyx12's x12valid.

Each scenario is a claim a practice really sends; the known breakers of hand-written 837s (several
modifiers on a line, a patient who is not the subscriber, a secondary claim with the primary's
payment) are among them.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest

from mederi.billing.claims.tests.x12valid import x12valid
from mederi.billing.claims.x837 import (
    Accident,
    Address,
    Adjustment,
    ClaimData,
    LinePayment,
    OtherPayer,
    Person,
    Provider,
    ServiceLine,
    Submitter,
    write_837,
)
from mederi.billing.x12.envelope import parse

DOS = dt.date(2026, 11, 2)
HOME = Address("12 ELM STREET", "SPRINGFIELD", "IL", "627011234", line2="APT 4")
CLINIC = Address("100 MAIN STREET", "SPRINGFIELD", "IL", "627015555")
BILLING = Provider("SPRINGFIELD FAMILY MEDICINE", "1612345672", taxonomy="207Q00000X", tax_id="12-3456789",
                   address=CLINIC)
RENDERING = Provider("SMITH", "1234567893", first_name="ANNA", taxonomy="207Q00000X")
SUBMITTER = Submitter("SPRINGFIELD FAMILY MEDICINE", "SFM01", "BILLING OFFICE", "(217) 555-1234")


def line(code="99213", charge="120.00", **options) -> ServiceLine:
    return ServiceLine(code, D(charge), DOS, **options)


def base() -> ClaimData:
    return ClaimData("C1001", BILLING, "ACME HEALTH", "ACME1", Person("DOE", "JANE", dt.date(1980, 5, 1), "F", HOME,
                     "M100"), ["I10"], [line(control_number="C1001-1")], rendering=RENDERING)


def changed(**fields) -> ClaimData:
    claim = base()
    for name, value in fields.items():
        setattr(claim, name, value)
    return claim


def secondary() -> ClaimData:
    claim = changed(responsibility="S", lines=[line(control_number="C1001-1"), line("36415", "15.00")])
    claim.other_payer = OtherPayer(
        "BIG STATE PLAN", "BSP01", Person("DOE", "JANE", member_id="P555"), paid=D("80.00"),
        adjudicated=dt.date(2026, 11, 20), adjustments=[Adjustment("PR", "2", D("20.00"))],
        line_payments={1: LinePayment(D("80.00"), dt.date(2026, 11, 20), [Adjustment("CO", "45", D("20.00")),
                                                                          Adjustment("PR", "2", D("20.00"))]),
                       2: LinePayment(D("0.00"), dt.date(2026, 11, 20), [Adjustment("CO", "97", D("15.00"))])})
    return claim


def dependent(relationship="19") -> ClaimData:
    return changed(patient=Person("DOE", "TIM", dt.date(2015, 3, 9), "M", HOME), relationship=relationship,
                   subscriber=Person("DOE", "JOHN", member_id="M300", address=HOME), group_number="GRP-77")


SCENARIOS = {
    "single line, patient is the subscriber": base,
    "12 diagnoses, lines pointing to four each": lambda: changed(
        diagnoses=["I10", "E11.9", "E78.5", "J45.909", "M54.50", "R51.9", "Z79.4", "E66.9", "F41.1", "K21.9",
                   "G47.33", "N39.0"],
        lines=[line(pointers=[1, 2, 3, 4]), line("83036", "45.00", pointers=[5, 6, 7, 8]),
               line("81002", "12.00", pointers=[9, 10, 11, 12])]),
    "four modifiers on a line": lambda: changed(lines=[line("20610", "210.00", modifiers=["RT", "59", "XS", "76"])]),
    "several lines with several modifiers": lambda: changed(lines=[
        line(modifiers=["25"]), line("20610", "210.00", modifiers=["LT", "59"]),
        line("20610", "210.00", modifiers=["RT", "XS", "76"]), line("96372", "30.00")]),
    "patient is the subscriber's child (2000C)": dependent,
    "patient is the subscriber's spouse (2000C)": lambda: dependent("01"),
    "secondary claim with the primary's payment (2320/2430)": secondary,
    "secondary claim for a dependent": lambda: _merge(dependent(), secondary()),
    "prior authorization on the claim (REF*G1)": lambda: changed(prior_authorization="PA123456"),
    "prior authorization on a line": lambda: changed(lines=[line(prior_authorization="PA-77")]),
    "auto accident with the state (CLM11, DTP*439)": lambda: changed(
        accident=Accident("AA", dt.date(2026, 10, 30), "IL"), onset=dt.date(2026, 10, 30)),
    "employment accident": lambda: changed(accident=Accident("EM", dt.date(2026, 10, 1))),
    "other accident": lambda: changed(accident=Accident("OA", dt.date(2026, 9, 14))),
    "corrected claim (frequency 7, REF*F8)": lambda: changed(frequency="7", original_reference="PAYER-ICN-0001"),
    "void claim (frequency 8, REF*F8)": lambda: changed(frequency="8", original_reference="PAYER-ICN-0002"),
    "referring provider (2310A)": lambda: changed(referring=Provider("JONES", "1245319599", first_name="MARK")),
    "service facility not the billing provider (2310C)": lambda: changed(
        facility=Provider("SPRINGFIELD SATELLITE CLINIC", "1093884000",
                          address=Address("9 OAK ROAD", "CHATHAM", "IL", "62629"))),
    "units above one": lambda: changed(lines=[line("J1885", "24.00", units=D("2")), line("94640", "40.00",
                                                                                         units=D("3"))]),
    "drug line with an NDC (2410)": lambda: changed(lines=[
        line("96372", "30.00"), line("J1030", "18.00", ndc="00009-3073-03", ndc_quantity=D("1"), ndc_unit="ML")]),
    "telehealth visit with modifier 95 and place of service 10": lambda: changed(
        place_of_service="10", lines=[line("99214", "160.00", modifiers=["95"])]),
    "line at a different place of service": lambda: changed(lines=[line(place_of_service="20")]),
    "Medicare Part B": lambda: changed(filing_code="MB", payer_name="MEDICARE", payer_id="00952"),
    "no rendering provider (billing provider rendered)": lambda: changed(rendering=None),
    "HCPCS annual wellness visit with G2211": lambda: changed(lines=[line("G0439", "170.00"),
                                                                     line("G2211", "16.00")]),
}


def _merge(claim: ClaimData, other: ClaimData) -> ClaimData:
    merged = copy.deepcopy(claim)
    merged.responsibility, merged.other_payer, merged.lines = other.responsibility, other.other_payer, other.lines
    return merged


def interchange(claims: list[ClaimData]) -> str:
    return write_837(claims, submitter=SUBMITTER, receiver_name="GATEWAY CLEARINGHOUSE", receiver_id="GW01",
                     sender_id="SFM01", interchange_receiver_id="GW01", control_number=42,
                     when=dt.datetime(2026, 11, 3, 9, 30))


def test_there_are_at_least_twenty_scenarios():
    assert len(SCENARIOS) >= 20


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_validates_with_no_errors(name):
    text = interchange([SCENARIOS[name]()])
    assert x12valid(text) == []


def test_all_scenarios_in_one_batch_validate_and_keep_their_claims():
    claims = []
    for number, make in enumerate(SCENARIOS.values(), start=1):
        claim = make()
        claim.claim_number = f"C{number:04d}"
        claims.append(claim)
    text = interchange(claims)
    assert x12valid(text) == []
    clm = [segment for segment in parse(text).groups[0].transactions[0].segments if segment[0] == "CLM"]
    assert [segment[1] for segment in clm] == [f"C{n:04d}" for n in range(1, len(SCENARIOS) + 1)]


def test_the_claim_total_is_the_sum_of_its_lines():
    text = interchange([SCENARIOS["several lines with several modifiers"]()])
    assert "CLM*C1001*570.00***11:B:1*Y*A*Y*Y~" in text
    assert "SV1*HC:20610:RT:XS:76*210.00*UN*1***1~" in text


def test_the_validator_does_report_a_broken_file():
    text = interchange([base()]).replace("NM1*85*2*SPRINGFIELD FAMILY MEDICINE*****XX*1612345672~", "")
    assert x12valid(text) != []


SHARED = Path(__file__).resolve().parents[5] / "shared" / "data" / "x12"


@pytest.mark.dataset
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/x12 is absent")
@pytest.mark.parametrize("name", sorted(p.name for p in SHARED.glob("*.837")) if SHARED.is_dir() else [])
def test_the_shared_sample_837s_are_read_by_pyx12(name):
    import pyx12.x12file

    reader = pyx12.x12file.X12Reader(str(SHARED / name))
    segments = [segment.get_seg_id() for segment in reader]
    assert segments[0] == "ISA" and segments[-1] == "IEA" and "CLM" in segments
    assert parse((SHARED / name).read_text()).groups[0].functional_id == "HC"
