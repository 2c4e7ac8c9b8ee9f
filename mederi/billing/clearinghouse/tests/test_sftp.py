"""The SFTP connector against the stand-in: real SSH, real host-key checks, real files."""

import asyncio

import asyncssh
import pytest

from mederi.billing.clearinghouse.base import ClearinghouseError
from mederi.billing.clearinghouse.sftp import SftpConnector

from .conftest import ANSWER_271, ANSWER_999, CLIENT_KEY, claim_837, request_270


def connect(standin, **overrides) -> SftpConnector:
    settings = {
        "host": "127.0.0.1",
        "port": standin.sftp_port,
        "username": "clinic",
        "password": "s3cret",
        "known_host_key": standin.host_key,
        "poll_interval": 0.05,
    }
    return SftpConnector(**{**settings, **overrides})


def test_a_claims_batch_is_uploaded_and_its_999_fetched(standin):
    connector = connect(standin)

    remote_name = connector.submit_batch(claim_837(), name="claims-0001.837")
    fetched = dict(connector.fetch_responses())

    assert remote_name == "claims-0001.837"
    assert fetched["claims-0001.999"] == ANSWER_999
    assert ("sftp", "837P", claim_837()) in standin.received


def test_files_already_fetched_are_not_fetched_again(standin):
    connector = connect(standin)
    connector.submit_batch(request_270("BATCH"), name="elig-0007.270")

    names = {name for name, _ in connector.fetch_responses()}
    later = connector.fetch_responses(since_names=names)

    assert "elig-0007.271" in names
    assert later == []


def test_a_real_time_270_over_sftp_returns_the_271_and_leaves_no_file_behind(standin):
    outbound = standin.sftp_root / "outbound"
    before = set(outbound.iterdir())

    assert connect(standin).exchange(request_270("RT"), kind="270") == ANSWER_271
    assert set(outbound.iterdir()) == before


def test_a_private_key_logs_in_too(standin):
    connector = connect(standin, password=None, private_key=CLIENT_KEY.export_private_key().decode())

    assert connector.exchange(request_270("KEY"), kind="270") == ANSWER_271


def test_a_wrong_password_is_reported_as_a_refused_login(standin):
    with pytest.raises(ClearinghouseError) as refused:
        connect(standin, password="wrong").fetch_responses()

    assert "refused the login" in str(refused.value)
    assert not refused.value.retryable


@pytest.mark.parametrize("algorithm", ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"])
def test_a_server_with_another_host_key_is_refused(standin, algorithm):
    stranger = asyncssh.generate_private_key(algorithm).export_public_key().decode()
    offered = asyncssh.import_public_key(standin.host_key).get_fingerprint("sha256")

    with pytest.raises(ClearinghouseError) as refused:
        connect(standin, known_host_key=stranger).submit_batch(claim_837("NEVER"), name="claims-9999.837")

    message = str(refused.value)
    assert "is not the one in the payer settings" in message
    assert f"it offered {offered}" in message
    assert not refused.value.retryable
    assert not (standin.sftp_root / "inbound" / "claims-9999.837").exists()
    assert not any(b"NEVER" in payload for _, _, payload in standin.received)


def test_a_host_key_that_is_not_a_key_is_refused_at_once():
    with pytest.raises(ClearinghouseError, match="not an OpenSSH public key"):
        SftpConnector("127.0.0.1", 22, "clinic", "s3cret", known_host_key="SHA256:abcdef")


def test_a_payer_that_never_answers_times_out_and_is_worth_retrying(standin):
    with pytest.raises(ClearinghouseError) as silent:
        connect(standin, timeout=0.5).exchange(request_270("SILENT"), kind="270")

    assert str(silent.value) == "the clearinghouse did not answer within 0.5 s"
    assert silent.value.retryable


def test_a_server_that_is_down_is_worth_retrying(closed_port, standin):
    with pytest.raises(ClearinghouseError) as down:
        connect(standin, port=closed_port).fetch_responses()

    assert "could not reach the clearinghouse" in str(down.value)
    assert down.value.retryable


def test_a_missing_folder_is_named(standin):
    with pytest.raises(ClearinghouseError) as missing:
        connect(standin, inbound_dir="to-payer").submit_batch(claim_837(), name="claims-0003.837")

    assert "upload claims-0003.837 into to-payer/" in str(missing.value)
    assert "No such file" in str(missing.value)


@pytest.mark.parametrize("name", ["../claims.837", "inbound/claims.837", "", ".hidden"])
def test_batch_names_cannot_leave_the_inbound_folder(standin, name):
    with pytest.raises(ClearinghouseError, match="letters, digits"):
        connect(standin).submit_batch(claim_837(), name=name)


def test_settings_without_password_or_key_are_refused():
    with pytest.raises(ClearinghouseError, match="password or a private key"):
        SftpConnector("127.0.0.1", 22, "clinic", known_host_key="ssh-ed25519 AAAA")


def test_the_connector_can_be_called_from_async_code(standin):
    async def inside_an_event_loop() -> bytes:
        return connect(standin).exchange(request_270("ASYNC"), kind="270")

    assert asyncio.run(inside_an_event_loop()) == ANSWER_271
