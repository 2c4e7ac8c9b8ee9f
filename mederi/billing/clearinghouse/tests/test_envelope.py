"""The CORE envelope codec and the naming of X12 payloads."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.billing.clearinghouse import envelope

from .conftest import ANSWER_271, claim_837, interchange, request_270

field_names = st.from_regex(r"[A-Za-z0-9_.-]+", fullmatch=True)


@given(st.dictionaries(field_names, st.binary(), max_size=8))
def test_whatever_is_encoded_decodes_to_the_same_fields(fields):
    body, content_type = envelope.encode(fields)

    assert envelope.decode(body, content_type) == fields


@given(st.binary())
def test_a_payload_holding_line_breaks_and_dashes_survives(noise):
    payload = b"--\r\n--" + noise + b"\r\n\r\n--"
    body, content_type = envelope.encode({"Payload": payload, "PayloadID": "1"})

    assert envelope.decode(body, content_type)["Payload"] == payload


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"ISA*...", "application/edi-x12", "expected a multipart body"),
        (b"--x\r\n", "multipart/form-data", "no boundary"),
        (b"nothing here", "multipart/form-data; boundary=abc", "does not contain its boundary"),
        (b"--abc\r\nContent-Disposition: form-data; name=\"A\"\r\n\r\nvalue", "multipart/form-data; boundary=abc",
         "without its closing boundary"),
        (b"--abc\r\nX-Other: 1\r\n\r\nvalue\r\n--abc--\r\n", "multipart/form-data; boundary=abc", "no Content-Disposition"),
    ],
)
def test_a_broken_body_says_what_is_wrong(body, content_type, problem):
    with pytest.raises(envelope.EnvelopeError, match=problem):
        envelope.decode(body, content_type)


def test_a_field_name_that_cannot_be_written_is_refused():
    with pytest.raises(envelope.EnvelopeError, match="field name"):
        envelope.encode({'Pay"load': b""})


def test_a_quoted_boundary_and_other_clients_spacing_are_read():
    body = b'--b\r\nContent-Disposition: form-data; name="Payload"\r\nContent-Type: text/plain\r\n\r\nISA\r\n--b--\r\n'

    assert envelope.decode(body, 'multipart/form-data; boundary="b"') == {"Payload": b"ISA"}


def test_payload_types_come_from_the_x12_itself():
    assert envelope.payload_type("270", request_270()) == "X12_270_Request_005010X279A1"
    assert envelope.payload_type("837P", claim_837()) == "X12_837_Request_005010X222A1"
    assert envelope.payload_type("271", ANSWER_271, response=True) == "X12_271_Response_005010X279A1"
    assert envelope.payload_type("276") == "X12_276_Request_005010X212"


def test_a_kind_without_a_payload_type_is_refused():
    with pytest.raises(envelope.EnvelopeError, match="no CORE payload type"):
        envelope.payload_type("123", b"not x12")


def test_kinds_are_read_back_from_payload_types_and_payloads():
    assert envelope.kind_from_payload_type("X12_270_Request_005010X279A1") == "270"
    assert envelope.kind_from_payload_type("X12_837_Request_005010X223A2") == "837I"
    assert envelope.kind_of(claim_837()) == "837P"
    assert envelope.kind_of(b"plain text", "270") == "270"
    with pytest.raises(envelope.EnvelopeError):
        envelope.kind_from_payload_type("X12_005010_Request_Batch_Results_271")


def test_any_separators_the_interchange_declares_are_followed():
    custom = interchange("GS*HS*A*B*20250101*1200*1*X*005010X279A1", "ST*270*0001").replace(b"*", b"|").replace(
        b"~", b"\n"
    )

    assert envelope.x12_identity(custom) == ("270", "005010X279A1")
    assert envelope.x12_identity(b"ISA too short") is None


def test_each_request_is_answered_by_its_response_kind():
    assert [envelope.response_kind(kind) for kind in ("270", "276", "278", "837P")] == ["271", "277", "278", "999"]
