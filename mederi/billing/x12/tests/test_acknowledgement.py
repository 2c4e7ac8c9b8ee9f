"""Reading and writing 999 and 277CA acknowledgements: pyx12 finds no error in what is written, the
reader gives back what was written, and a damaged file is refused with a sentence naming the problem."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.billing.claims.tests.test_837_scenarios import SCENARIOS, interchange
from mederi.billing.claims.tests.x12valid import x12valid
from mederi.billing.x12.acknowledgement import ElementError, SegmentError, Status, parse_277ca, parse_999, parse_ta1
from mederi.billing.x12.acknowledgement_writer import build_277ca, build_999, build_ta1, submitted_claims
from mederi.billing.x12.envelope import X12Error, write_interchange
from mederi.conftest import SHARED_DATA

WHEN = dt.datetime(2026, 11, 3, 10, 0)
NAMES = list(SCENARIOS)


def claim_file(count: int = 4) -> str:
    claims = []
    for number, name in enumerate(NAMES[:count], start=1):
        claim = SCENARIOS[name]()
        claim.claim_number = f"C{number:04d}"
        claims.append(claim)
    return interchange(claims)


def ack_999(text: str, **options) -> str:
    return build_999(text, control_number=7, sender_id="GW01", receiver_id="SFM01", when=WHEN, **options)


def ack_277(text: str, **options) -> str:
    return build_277ca(text, control_number=8, sender_id="GW01", receiver_id="SFM01", when=WHEN,
                       payer_name="ACME HEALTH PLAN", payer_id="ACME01", **options)


def test_the_claim_file_names_its_group_by_its_own_control_number_so_a_999_finds_it():
    [group] = submitted_claims(claim_file())
    assert group.control_number == "42" and [c.claim_number for c in group.claims] == ["C0001", "C0002", "C0003",
                                                                                        "C0004"]


def test_a_999_accepting_the_file_validates_and_reads_back_as_accepted():
    text = ack_999(claim_file())
    assert x12valid(text) == []
    [ack] = parse_999(text)
    [group] = ack.groups
    assert (group.functional_id, group.control_number, group.accepted) == ("HC", "42", True)
    assert [(s.control_number, s.accepted) for s in group.sets] == [("0001", True)]


def test_a_999_rejecting_a_set_says_which_segment_element_and_claim_in_words():
    error = SegmentError("CLM", "30", "2300", "8", "C0002", [ElementError("1", "1028", "7", "C0002")])
    text = ack_999(claim_file(), errors={"0001": [error]})
    assert x12valid(text) == []
    [group] = parse_999(text)[0].groups
    assert group.code == "R" and not group.sets[0].accepted
    words = group.sets[0].words("C0002")
    assert "rejected" in words and "one or more segments in error" in words
    assert "CLM segment 30 in loop 2300: segment has data element errors" in words
    assert "invalid code value" in words and "(claim C0002)" in words


def test_a_277ca_validates_and_gives_each_claims_status_in_words():
    reject = {"C0003": Status("A7", "562", "85")}
    text = ack_277(claim_file(), decide=lambda claim: reject.get(claim.claim_number))
    assert x12valid(text) == []
    [ack] = parse_277ca(text)
    assert ack.payer_name == "ACME HEALTH PLAN"
    by_number = {claim.claim_number: claim for claim in ack.claims}
    assert sorted(by_number) == ["C0001", "C0002", "C0003", "C0004"]
    assert by_number["C0003"].rejected and by_number["C0003"].words() == (
        "Rejected for invalid information: entity's National Provider Identifier (NPI), billing provider (A7:562:85)")
    assert not by_number["C0001"].rejected and by_number["C0001"].payer_claim_number
    assert "Accepted into adjudication" in by_number["C0001"].words()


@given(rejected=st.sets(st.sampled_from(["C0001", "C0002", "C0003"])),
       status=st.sampled_from([Status("A3", "33", "IL"), Status("A6", "254", "85"), Status("A8", "747", "QC")]))
def test_any_mix_of_accepted_and_rejected_claims_reads_back_as_written(rejected, status):
    text = ack_277(claim_file(3), decide=lambda claim: status if claim.claim_number in rejected else None)
    [ack] = parse_277ca(text)
    assert {c.claim_number for c in ack.claims if c.rejected} == rejected
    assert all(c.statuses == [status] for c in ack.claims if c.rejected)


@given(codes=st.lists(st.sampled_from(["1", "2", "3", "7", "8", "I4", "I6", "XX"]), min_size=1, max_size=4),
       claim=st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True))
def test_any_set_of_segment_errors_reads_back_with_its_claim(codes, claim):
    errors = [SegmentError("NM1", str(n + 5), "2010", code, claim, [ElementError("9", "67", "7")])
              for n, code in enumerate(codes)]
    [group] = parse_999(ack_999(claim_file(1), errors={"0001": errors}))[0].groups
    assert [(e.code, e.claim_number) for e in group.sets[0].segment_errors] == [(code, claim) for code in codes]


def _999(*body) -> str:
    return write_interchange([("999", list(body), "005010X231A1")], sender_id="GW01", receiver_id="SFM01",
                             control_number=5)


@pytest.mark.parametrize("text, words", [
    ("", "the file is empty"),
    ("hello", "not an X12 file"),
    (_999(["AK2", "837", "0001"], ["IK5", "A"]), "before the AK1"),
    (_999(["AK1", "HC", "42"], ["AK2", "837", "0001"], ["IK5", "A"]), "has no AK9 verdict"),
    (_999(["AK1", "HC", "42"], ["AK2", "837", "0001"], ["AK9", "A", "1", "1", "1"]), "has no IK5 verdict"),
    (_999(["AK1", "HC", "42"], ["AK9", "A", "one", "1", "1"]), "AK902 should be a count"),
    (_999(["AK1", "HC", "42"], ["CLP", "1"], ["AK9", "A", "1", "1", "1"]), "CLP is not a segment of a 999"),
    (write_interchange([("835", [["BPR", "I"]], "005010X221A1")], sender_id="A", receiver_id="B", control_number=1),
     "holds no 999"),
])
def test_a_damaged_999_is_refused_with_a_sentence(text, words):
    with pytest.raises(X12Error) as caught:
        parse_999(text)
    assert words in str(caught.value)


@pytest.mark.parametrize("change, words", [
    (lambda t: t.replace("STC*A2:20:PR", "STC*A2"), "must give a status category and a status code"),
    (lambda t: t.replace("STC*A2:20:PR*20261103", "STC*A2:20:PR*20261350"), "not a real date"),
    (lambda t: t.replace("TRN*2*C0001~", "TRN*2~"), "TRN02 (the patient control number, CLM01) is missing"),
    (lambda t: t.replace("005010X214", "005010X212"), "not the claim acknowledgement guide"),
    (lambda t: t.replace("SE*", "SE*1"), "SE01 says"),
])
def test_a_damaged_277ca_is_refused_with_a_sentence(change, words):
    with pytest.raises(X12Error) as caught:
        parse_277ca(change(ack_277(claim_file(1))))
    assert words in str(caught.value)


@given(st.binary(max_size=300))
def test_random_bytes_are_refused_with_an_x12_error_and_nothing_else(data):
    for reader in (parse_999, parse_277ca):
        with pytest.raises(X12Error):
            reader(data)


def test_every_shared_999_and_277_sample_is_read():
    samples = [p for p in (SHARED_DATA / "x12").glob("*") if p.suffix in (".999", ".277")] \
        if (SHARED_DATA / "x12").is_dir() else []
    if not samples:
        pytest.skip("the shared X12 samples hold no 999 or 277 file")
    for path in samples:
        (parse_999 if path.suffix == ".999" else parse_277ca)(path.read_bytes())


@pytest.mark.parametrize("code, note", [("A", "000"), ("E", "020"), ("R", "025")])
def test_a_ta1_reads_back_as_written_and_pyx12_reads_its_envelope(code, note):
    sent = claim_file(2)
    text = build_ta1(sent, control_number=11, sender_id="GW01", receiver_id="SFM01", when=WHEN, code=code, note=note)
    assert "TA1*" in text and "GS*" not in text  # an interchange with no functional group
    (ack,) = parse_ta1(text)
    assert (ack.sender_id, ack.control_number, ack.received, ack.code, ack.note) == (
        "GW01", sent[90:99], WHEN, code, note)
    assert ack.refused == (code == "R")
    assert x12valid(text) == []


def test_a_ta1_says_what_is_wrong_in_words():
    (ack,) = parse_ta1(build_ta1(claim_file(1), control_number=3, sender_id="GW01", receiver_id="SFM01", when=WHEN,
                                 code="R", note="001"))
    assert ack.words() == ("refused: the whole file was not read; the control numbers in the ISA header and IEA "
                           "trailer differ (TA1 note 001)")


@pytest.mark.parametrize("element, value, words", [
    (1, "ABC", "TA101 must be the answered file's interchange control number"),
    (4, "X", "TA104 must be A, E or R"),
])
def test_a_damaged_ta1_is_refused_naming_the_element(element, value, words):
    text = build_ta1(claim_file(1), control_number=3, sender_id="GW01", receiver_id="SFM01", when=WHEN, code="R",
                     note="025")
    segments = text.split("~")
    index = next(i for i, segment in enumerate(segments) if segment.strip().startswith("TA1*"))
    fields = segments[index].split("*")
    fields[element] = value
    segments[index] = "*".join(fields)
    with pytest.raises(X12Error, match=words):
        parse_ta1("~".join(segments))


def test_a_file_without_a_ta1_is_not_taken_for_one():
    with pytest.raises(X12Error, match="holds no TA1"):
        parse_ta1(ack_999(claim_file(1)))


def test_the_stand_in_clearinghouse_refuses_a_claim_file_with_a_broken_envelope_with_a_ta1():
    from mederi.billing.clearinghouse.claims_responder import ClaimAcknowledger

    sent = claim_file(2)
    broken = sent.replace("IEA*1*" + sent[90:99], "IEA*1*000000999")  # trailer's control number differs
    answer = ClaimAcknowledger()(broken.encode(), "837P")
    assert set(answer) == {"TA1"}
    (ack,) = parse_ta1(answer["TA1"])
    assert (ack.control_number, ack.code, ack.note) == (sent[90:99], "R", "001")
    assert set(ClaimAcknowledger()(sent.encode(), "837P")) == {"999", "277"}  # a sound file is read and answered
