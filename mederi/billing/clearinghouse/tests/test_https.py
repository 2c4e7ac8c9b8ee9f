"""The HTTPS connector against the stand-in: real sockets, real TLS, CORE envelopes."""

import pytest
import requests

from mederi.billing.clearinghouse import envelope
from mederi.billing.clearinghouse.base import ClearinghouseError
from mederi.billing.clearinghouse.https import HttpsConnector

from .conftest import ANSWER_271, ANSWER_999, claim_837, request_270


def connect(standin, **overrides) -> HttpsConnector:
    settings = {"url": standin.https_url, "username": "clinic", "password": "s3cret", "ca_file": standin.ca_file}
    return HttpsConnector(**{**settings, **overrides})


def test_a_real_time_270_comes_back_as_the_payers_271(standin):
    question = request_270("ELIG-1")

    assert connect(standin).exchange(question, kind="270") == ANSWER_271
    assert standin.received[-1] == ("https", "270", question)


def test_a_clearinghouse_answering_with_bare_x12_is_understood(standin):
    standin.realtime_reply = "x12"
    try:
        assert connect(standin).exchange(request_270(), kind="270") == ANSWER_271
    finally:
        standin.realtime_reply = "multipart"


def test_a_wrong_password_is_reported_as_a_refused_login(standin):
    with pytest.raises(ClearinghouseError) as refused:
        connect(standin, password="wrong").exchange(request_270(), kind="270")

    assert "refused the login" in str(refused.value)
    assert "user name and password" in str(refused.value)
    assert not refused.value.retryable


def test_a_clearinghouse_that_is_down_is_worth_retrying(closed_port, standin):
    connector = HttpsConnector(f"https://127.0.0.1:{closed_port}/core", "clinic", "s3cret", ca_file=standin.ca_file)

    with pytest.raises(ClearinghouseError) as down:
        connector.exchange(request_270(), kind="270")

    assert "could not reach the clearinghouse" in str(down.value)
    assert "connection refused" in str(down.value)
    assert down.value.retryable


def test_an_untrusted_certificate_is_refused_with_a_hint(standin):
    with pytest.raises(ClearinghouseError) as untrusted:
        connect(standin, ca_file=None).exchange(request_270("UNTRUSTED"), kind="270")

    message = str(untrusted.value)
    assert "could not verify the TLS certificate" in message
    assert "certificate file in the payer settings" in message
    assert not untrusted.value.retryable
    assert not any(kind == "270" and b"UNTRUSTED" in payload for _, kind, payload in standin.received)


def test_a_missing_certificate_file_is_named(standin, tmp_path):
    with pytest.raises(ClearinghouseError, match="does not exist"):
        connect(standin, ca_file=tmp_path / "nowhere.pem").exchange(request_270(), kind="270")


def test_a_payer_that_does_not_answer_in_time_is_worth_retrying(standin, payer):
    try:
        with pytest.raises(ClearinghouseError) as slow:
            connect(standin, timeout=0.5).exchange(request_270("HANG"), kind="270")
    finally:
        payer.release.set()

    assert str(slow.value) == "the clearinghouse did not answer within 0.5 s"
    assert slow.value.retryable


def test_a_server_failure_is_reported_with_its_status_and_text(standin):
    with pytest.raises(ClearinghouseError) as failed:
        connect(standin).exchange(request_270("FAIL"), kind="270")

    assert str(failed.value) == "the clearinghouse answered HTTP 500: the payer system failed: eligibility database offline"
    assert failed.value.retryable


def test_a_wrong_address_is_reported_with_the_servers_words(standin):
    with pytest.raises(ClearinghouseError) as missing:
        connect(standin, url=standin.https_url.replace("/core", "/elsewhere")).exchange(request_270(), kind="270")

    assert "answered HTTP 404" in str(missing.value)
    assert "/core" in str(missing.value)
    assert not missing.value.retryable


def test_plain_http_is_never_used():
    with pytest.raises(ClearinghouseError, match="https://"):
        HttpsConnector("http://clearinghouse.example/core", "clinic", "s3cret")


def test_batches_are_submitted_and_their_results_fetched_once(standin):
    connector = connect(standin)

    eligibility = connector.submit_batch(request_270("BATCH-ELIG"), name="elig-0001.270")
    claims = connector.submit_batch(claim_837(), name="claims-0001.837")
    first = dict(connector.fetch_responses())
    again = connector.fetch_responses()

    assert first == {f"{claims}.999": ANSWER_999, f"{eligibility}.271": ANSWER_271}
    assert again == []
    assert [kind for transport, kind, _ in standin.received[-2:]] == ["270", "837P"]


def test_fetch_skips_files_already_fetched(standin):
    connector = connect(standin)
    batch = connector.submit_batch(claim_837(), name="claims-0002.837")

    assert connector.fetch_responses(since_names={f"{batch}.999"}) == []


def test_a_batch_that_is_not_x12_and_has_no_known_suffix_is_refused_before_sending(standin):
    with pytest.raises(ClearinghouseError, match="which X12 transaction"):
        connect(standin).submit_batch(b"hello", name="notes.txt")


def test_the_stand_in_turns_down_an_envelope_of_another_rule_version(standin):
    body, content_type = envelope.encode(
        {
            "ProcessingMode": "RealTime",
            "PayloadType": "X12_270_Request_005010X279A1",
            "PayloadID": envelope.new_payload_id(),
            "TimeStamp": envelope.timestamp(),
            "SenderID": "clinic",
            "ReceiverID": "standin",
            "CORERuleVersion": "1.1.0",
            "Payload": request_270(),
        }
    )
    answer = requests.post(
        standin.https_url, data=body, headers={"Content-Type": content_type}, auth=("clinic", "s3cret"),
        verify=str(standin.ca_file), timeout=10,
    )

    fields = envelope.decode(answer.content, answer.headers["Content-Type"])
    assert answer.status_code == 400
    assert envelope.text_field(fields, "ErrorCode") == "VersionMismatch"
