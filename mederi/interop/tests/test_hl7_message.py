"""The HL7 v2 reader and writer: the shared samples, vendor quirks, malformed messages, round trips."""

from __future__ import annotations

from datetime import timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mederi.conftest import shared_data
from mederi.interop.hl7 import Encoding, HL7Error, Repeat, build, parse, segment, write
from mederi.interop.hl7.values import fhir_datetime, fhir_instant

HEADER = "MSH|^~\\&|LAB|ACME|EHR|CLINIC|20260105143000-0600||ORU^R01^ORU_R01|MSG1|P|2.5.1"


def message(*lines: str, terminator: str = "\r") -> str:
    return terminator.join([HEADER, *lines]) + terminator


@pytest.mark.dataset
def test_every_shared_sample_reads_and_writes_back_to_the_same_message():
    folder = shared_data("hl7v2")
    files = sorted(folder.glob("*.hl7"))
    assert files
    for path in files:
        read = parse(path.read_bytes())
        assert read.header.name == "MSH", path.name
        assert read.message_type[0] in ("ADT", "ORM", "ORU", "SIU"), path.name
        assert parse(write(read)) == read, path.name


@pytest.mark.dataset
def test_the_sample_with_a_byte_order_mark_reads_its_header():
    raw = shared_data("hl7v2", "LAB-ORU-1.hl7").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    read = parse(raw)
    assert read.message_type == ("ORU", "R01") and read.control_id == "182"
    obx = read.all("OBX")[1]
    assert (obx.value(3, 1), obx.value(5), obx.value(6), obx.value(8)) == ("11273-0", "4.06", "tera.l-1", "N")


@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_segments_end_with_cr_lf_or_both(terminator):
    read = parse(message("PID|1||MRN1^^^CLINIC^MR", "OBX|1|NM|2345-7^Glucose^LN||105|mg/dL", terminator=terminator))
    assert [s.name for s in read.segments] == ["MSH", "PID", "OBX"]
    assert read.first("OBX").value(5) == "105"


def test_repetitions_components_and_subcomponents():
    read = parse(message("PID|1||A1^^^H&1.2.3&ISO^MR~B2^^^OTHER^PI||Doe^Jane"))
    pid = read.first("PID")
    first, second = pid.repetitions(3)
    assert first.get(1) == "A1" and first.get(4, 2) == "1.2.3" and first.get(5) == "MR"
    assert second.get(1) == "B2" and second.get(5) == "PI"
    assert pid.value(5, 2) == "Jane" and pid.value(5, 9) == "" and pid.value(30) == ""


def test_escape_sequences_are_read():
    read = parse(message(r"NTE|1||Salmonella \T\ Shigella\F\ 5\S\6 \R\ back\E\slash\.br\line two \X41C3A9\ \H\bold\N\ end"))
    assert read.first("NTE").value(3) == "Salmonella & Shigella| 5^6 ~ back\\slash\nline two Aé bold end"


def test_unknown_escapes_and_lone_escape_characters_are_kept_as_written():
    read = parse(message(r"NTE|1||C:\temp\file and \Zcustom\ and 50\ "))
    assert read.first("NTE").value(3) == r"C:\temp\file and \Zcustom\ and 50\ "


def test_other_encoding_characters_declared_in_msh_2():
    read = parse("MSH*:!$%*LAB*ACME*EHR*CLINIC*20260105**ORU:R01*M2*P*2.5.1\rOBX*1*ST*X:Label**a$F$b!c\r")
    assert read.encoding == Encoding("*", ":", "!", "$", "%")
    obx = read.first("OBX")
    assert obx.value(3, 2) == "Label" and [r.get(1) for r in obx.repetitions(5)] == ["a*b", "c"]
    assert parse(write(read)) == read


def test_missing_trailing_fields_and_components_read_as_empty():
    short, long = parse(message("OBX|1|NM|X")), parse(message("OBX|1|NM|X^^^|||||||"))
    assert short.first("OBX") == long.first("OBX")
    assert short.first("OBX").value(11) == ""


def test_the_writer_escapes_what_would_break_the_message():
    built = build([segment("MSH", "EHR", "CLINIC", "LAB", "ACME", "20260105", "", ("ORM", "O01"), "C1", "P", "2.5.1"),
                   segment("NTE", "1", "", "a|b^c~d&e\\f\nsecond\rthird\x0b")])
    text = write(built)
    assert "a\\F\\b\\S\\c\\R\\d\\T\\e\\E\\f\\.br\\second\\X0D\\third\\X0B\\" in text
    assert text.count("\r") == 2 and "\x0b" not in text
    assert parse(text).first("NTE").value(3) == "a|b^c~d&e\\f\nsecond\rthird\x0b"


def test_repeat_builds_repetitions():
    built = build([segment("MSH", "A", "", "B", "", "2026", "", ("ACK",), "1", "P", "2.5.1"),
                   segment("PID", "1", "", Repeat(("1", "", "", ("H", "1.2", "ISO"), "MR"), "2"))])
    assert "PID|1||1^^^H&1.2&ISO^MR~2\r" in write(built)


@pytest.mark.parametrize("text, where, words", [
    ("", "", "empty"),
    ("PID|1||X\r", "MSH", "starts with an MSH"),
    ("MSH|^~|A\rPID|1\r", "MSH-2", "encoding characters"),
    ("MSH|^^\\&|A\r", "MSH-2", "repeats"),
    ("MSHX^~\\&|A\r", "MSH-1", "field separator"),
    (message("pid|1"), "", "line 2 does not start with a segment name"),
    (message("OBX|1|TX|X||bad \\XZZ\\ hex"), "OBX-5", "hex digits"),
    (message("PID|1") + HEADER + "\r", "MSH", "second message"),
])
def test_malformed_messages_say_where_and_why(text, where, words):
    with pytest.raises(HL7Error) as caught:
        parse(text)
    assert caught.value.location == where
    assert words in str(caught.value)
    if where:
        assert str(caught.value).startswith(where)


def test_dates_keep_their_time_zone_and_precision():
    chicago = timezone.utc
    where = ("OBR", 7)
    assert fhir_datetime("20141006092900+0700", chicago, where) == "2014-10-06T09:29:00+07:00"
    assert fhir_datetime("201203141259-0215", chicago, where) == "2012-03-14T12:59:00-02:15"
    assert fhir_datetime("20141006", chicago, where) == "2014-10-06"
    assert fhir_datetime("2014", chicago, where) == "2014"
    assert fhir_datetime("20141006092900.1234", chicago, where) == "2014-10-06T09:29:00.123400+00:00"
    assert fhir_instant("20141006", chicago, where) == "2014-10-06T00:00:00+00:00"
    assert fhir_datetime("", chicago, where) is None
    for bad in ("2014-10-06", "20141332", "20141006092900+9900"):
        with pytest.raises(HL7Error) as caught:
            fhir_datetime(bad, chicago, where)
        assert caught.value.location == "OBR-7"


# -- properties ------------------------------------------------------------------------------

_text = st.text(max_size=12)
_component = st.one_of(_text, st.lists(_text, max_size=3).map(tuple))
_repetition = st.lists(_component, max_size=4).map(tuple)
_field = st.one_of(st.none(), _text, _repetition, st.lists(_repetition, min_size=1, max_size=3).map(
    lambda reps: Repeat(*reps)))
_segment = st.builds(lambda name, fields: segment(name, *fields),
                     st.sampled_from(["PID", "OBR", "OBX", "NTE", "ZX1"]), st.lists(_field, max_size=8))
_encoding = st.sampled_from([Encoding(), Encoding("*", ":", "!", "$", "%"), Encoding("|", "^", "~", "\\", "&", "#")])


@settings(max_examples=300, deadline=None)
@given(_encoding, st.lists(_segment, max_size=6), st.sampled_from(["\r", "\n", "\r\n"]))
def test_what_is_written_reads_back_the_same(encoding, body, terminator):
    built = build([segment("MSH", "A", "", "B", "", "2026", "", ("ORU", "R01"), "C", "P", "2.5.1"), *body], encoding)
    assert parse(write(built, terminator=terminator)) == built


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200),
                 st.text(max_size=200).map(lambda rest: HEADER + "\r" + rest)))
def test_any_input_either_reads_or_says_why(data):
    try:
        parse(data)
    except HL7Error as error:
        assert str(error)
