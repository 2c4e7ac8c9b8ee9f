"""Reading and writing X12 interchanges: delimiters, structure checks, clear errors, round trips."""

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mederi.billing.x12.envelope import STANDARD, Writer, X12Error, parse, parse_all, write_interchange, write_segments

DATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "x12"

SAMPLE = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240105*1230*^*00501*000000017*0*T*:~"
    "GS*HS*SENDER*RECEIVER*20240105*1230*1*X*005010X279A1~"
    "ST*270*0001*005010X279A1~"
    "BHT*0022*13*REF1*20240105*1230~"
    "HL*1**20*1~"
    "EQ*30^98~"
    "SE*5*0001~"
    "GE*1*1~"
    "IEA*1*000000017~"
)


def error_for(text) -> X12Error:
    with pytest.raises(X12Error) as caught:
        parse(text)
    return caught.value


def test_reads_the_structure_and_the_delimiters():
    interchange = parse(SAMPLE)
    assert interchange.sender_id == "SENDER" and interchange.receiver_id == "RECEIVER"
    assert interchange.control_number == "000000017" and interchange.usage == "T"
    assert interchange.created == dt.datetime(2024, 1, 5, 12, 30)
    assert interchange.delimiters == STANDARD
    [group] = interchange.groups
    assert (group.functional_id, group.control_number, group.version) == ("HS", "1", "005010X279A1")
    [transaction] = group.transactions
    assert (transaction.id, transaction.control_number, transaction.implementation) == ("270", "0001", "005010X279A1")
    assert transaction.body[-1] == ["EQ", "30^98"]
    assert interchange.delimiters.repetitions("30^98") == ["30", "98"]
    assert transaction.start_index == 3


def test_other_delimiters_are_learned_from_the_isa():
    text = SAMPLE.replace("*", "|").replace("^", "{").replace(":", ">").replace("~", "'")
    transaction = parse(text).transactions[0]
    assert transaction.body[-1] == ["EQ", "30{98"]
    assert parse(text).delimiters.repetitions("30{98") == ["30", "98"]


def test_line_breaks_bom_and_bytes_are_tolerated():
    text = "\ufeff" + SAMPLE.replace("~", "~\r\n")
    assert parse(text).transactions[0].body == parse(SAMPLE).transactions[0].body
    assert parse(text.encode("utf-8")).transactions[0].body == parse(SAMPLE).transactions[0].body
    assert parse(SAMPLE.replace("~", "~\n").encode("latin-1")).control_number == "000000017"


def test_empty_file():
    assert error_for("").message == "the file is empty"
    assert error_for("  \n ").message == "the file is empty"


def test_not_x12():
    assert error_for("MSH|^~\\&|LAB").message == "this is not an X12 file: it does not start with ISA"
    assert "does not start with ISA" in error_for(b"%PDF-1.7").message


def test_isa_must_be_106_characters():
    error = error_for(SAMPLE.replace("SENDER         ", "SENDER"))
    assert "ISA segment is 97 characters long but must be exactly 106" in error.message
    assert error.segment_id == "ISA"


def test_truncated_files_say_so():
    assert "cut short inside the ISA" in error_for(SAMPLE[:50]).message
    no_iea = SAMPLE[: SAMPLE.index("IEA")]
    assert error_for(no_iea).message == "the file ends without an IEA segment: it may be truncated"
    no_se = SAMPLE[: SAMPLE.index("SE*")]
    assert "ends inside transaction set 0001" in error_for(no_se).message
    assert "truncated" in error_for(no_se).message


def test_wrong_segment_count():
    error = error_for(SAMPLE.replace("SE*5*", "SE*6*"))
    assert error.message == "SE01 says 6 segments but the transaction set has 5"
    assert (error.segment_index, error.segment_id) == (7, "SE")
    assert str(error) == "SE01 says 6 segments but the transaction set has 5 (segment 7, SE)"


def test_wrong_group_and_interchange_counts():
    assert error_for(SAMPLE.replace("GE*1*", "GE*2*")).message == (
        "GE01 says 2 transaction sets but the functional group has 1"
    )
    assert error_for(SAMPLE.replace("IEA*1*", "IEA*3*")).message == (
        "IEA01 says 3 functional groups but the interchange has 1"
    )
    assert "SE01 should be a count" in error_for(SAMPLE.replace("SE*5*", "SE*five*")).message


def test_control_numbers_must_echo_unless_lenient():
    wrong = SAMPLE.replace("SE*5*0001", "SE*5*0002").replace("GE*1*1", "GE*1*9").replace("IEA*1*000000017", "IEA*1*18")
    assert error_for(wrong).message == "SE02 control number 0002 does not match ST02 0001"
    lenient = parse(wrong, strict=False)
    assert [w.segment_id for w in lenient.warnings] == ["SE", "GE", "IEA"]
    assert "IEA02 control number 18 does not match ISA13 000000017" in str(lenient.warnings[2])
    assert parse(SAMPLE.replace("GE*1*1", "GE*1*0001")).groups[0].control_number == "1"  # same number


def test_segments_out_of_place():
    assert (
        "found NM1 where a transaction set (ST) or the GE trailer should be"
        in error_for(SAMPLE.replace("ST*270*0001*005010X279A1~", "NM1*PR~ST*270*0001*005010X279A1~")).message
    )
    assert "has no SE trailer before this GE" in error_for(SAMPLE.replace("SE*5*0001~", "")).message
    assert "not a segment name" in error_for(SAMPLE.replace("HL*1", "hl*1")).message


def test_several_interchanges():
    both = SAMPLE + "\n" + SAMPLE.replace("000000017", "000000018")
    assert [i.control_number for i in parse_all(both)] == ["000000017", "000000018"]
    assert "holds 2 interchanges" in error_for(both).message


def test_writer_builds_counts_and_control_numbers():
    writer = Writer(sender_id="MEDERI", receiver_id="PAYER", control_number=42, when=dt.datetime(2025, 3, 4, 5, 6))
    assert writer.add("270", [["BHT", "0022", "13", "X"], ["EQ", "30", ""]], implementation="005010X279A1") == "0001"
    writer.add("270", [["EQ", "98"]], implementation="005010X279A1")
    writer.add("837", [["BHT", "0019"]], implementation="005010X222A1")
    text = writer.text()
    assert text.startswith("ISA*00*          *00*          *ZZ*MEDERI         *ZZ*PAYER          *250304*0506*^*00501*")
    assert len(text.split("~")[0]) + 1 == 106
    assert "EQ*30~" in text  # trailing empty elements are dropped
    interchange = parse(text)
    assert [(g.functional_id, len(g.transactions)) for g in interchange.groups] == [("HS", 2), ("HC", 1)]
    assert [t.control_number for t in interchange.transactions] == ["0001", "0002", "0003"]
    assert interchange.control_number == "000000042" and text.endswith("IEA*2*000000042~")


def test_writer_refuses_what_would_corrupt_the_file():
    with pytest.raises(X12Error, match="contains the element separator"):
        write_interchange([("270", [["NM1", "PR", "2", "A*B"]], "005010X279A1")], sender_id="A", receiver_id="B",
                          control_number=1)  # fmt: skip
    with pytest.raises(X12Error, match="segment terminator"):
        write_segments([["MSG", "end~"]])
    with pytest.raises(X12Error, match="sender id must be 1 to 15"):
        Writer(sender_id="X" * 16, receiver_id="B", control_number=1)
    with pytest.raises(X12Error, match="usage indicator"):
        Writer(sender_id="A", receiver_id="B", control_number=1, usage="X")
    with pytest.raises(X12Error, match="control number"):
        Writer(sender_id="A", receiver_id="B", control_number=0)


@pytest.mark.dataset
def test_every_sample_file_has_a_sound_envelope():
    if not DATA.is_dir():
        pytest.skip(f"{DATA} is not available")
    for path in sorted(DATA.iterdir()):
        interchange = parse(path.read_bytes(), strict=False)
        assert interchange.transactions, path.name
        assert interchange.transactions[0].id == path.suffix.lstrip("."), path.name


# ---------------------------------------------------------------- properties

_text_values = st.text(alphabet=st.characters(blacklist_characters="*~\r\n", blacklist_categories=("Cs",)), max_size=12)
_segment_ids = st.from_regex(r"[A-Z][A-Z0-9]{1,2}", fullmatch=True).filter(
    lambda s: s not in {"ISA", "IEA", "GS", "GE", "ST", "SE"}
)
_segments = st.builds(
    lambda segment_id, values: [segment_id, *values], _segment_ids, st.lists(_text_values, max_size=6)
)


def _trim(segment):
    while len(segment) > 1 and segment[-1] == "":
        segment = segment[:-1]
    return segment


@settings(max_examples=150, deadline=None)
@given(
    bodies=st.lists(st.lists(_segments, max_size=8), min_size=1, max_size=4),
    sender=st.from_regex(r"[A-Z0-9]{1,15}", fullmatch=True),
    control=st.integers(min_value=1, max_value=999_999_999),
    line_breaks=st.booleans(),
)
def test_writer_then_parser_round_trips(bodies, sender, control, line_breaks):
    writer = Writer(sender_id=sender, receiver_id="PAYER", control_number=control, usage="P")
    for body in bodies:
        writer.add("270", body, implementation="005010X279A1")
    interchange = parse(writer.text(line_breaks=line_breaks))
    assert [t.body for t in interchange.transactions] == [[_trim(s) for s in body] for body in bodies]
    assert interchange.sender_id == sender and int(interchange.control_number) == control
    assert interchange.usage == "P"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300), st.text(max_size=200).map(lambda t: SAMPLE[:106] + t)))
def test_arbitrary_input_raises_only_x12_error(data):
    try:
        parse_all(data)
    except X12Error as error:
        assert error.message


@st.composite
def _mutations(draw):
    text = SAMPLE
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "cut"]))
        piece = draw(st.text(alphabet="*~^:\r\n0123456789ABSTEGIQ ", max_size=4))
        if kind == "delete":
            text = text[:at] + text[at + len(piece) + 1 :]
        elif kind == "insert":
            text = text[:at] + piece + text[at:]
        elif kind == "replace":
            text = text[:at] + piece + text[at + len(piece) :]
        else:
            text = text[:at]
    return text


@settings(max_examples=400, deadline=None)
@given(_mutations(), st.booleans())
def test_damaged_files_raise_only_x12_error(text, strict):
    try:
        parse_all(text, strict=strict)
    except X12Error as error:
        assert error.message
