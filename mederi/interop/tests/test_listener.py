"""The listener end to end: results sent over TCP by `mederi mllp-send` are stored and answered."""

from __future__ import annotations

import pytest

from mederi.conftest import record_row_counts
from mederi.interop import listener
from mederi.interop.mllp import ServerThread
from mederi.interop.models import DeadLetter
from mederi.interop.tests.factories import CHOLESTEROL, HDL, oru, register_patient


@pytest.fixture
def running(transactional_db):
    with ServerThread(listener.build_server("127.0.0.1", 0)) as server:
        yield server


def test_a_file_of_two_messages_sent_over_mllp_one_stored_one_refused(running, tmp_path, capsys):
    register_patient("MRN1001")
    good = oru(CHOLESTEROL, HDL, control_id="GOOD").decode().replace("\r", "\n")  # a file with LF line ends
    bad = oru(CHOLESTEROL, mrn="MRN9999", control_id="BAD", filler="LAB-2").decode().replace("\r", "\n")
    path = tmp_path / "results.hl7"
    path.write_bytes(b"\xef\xbb\xbf" + (good + bad).encode())

    status = listener.send_file(path, "127.0.0.1", running.port, timeout=10)

    printed = capsys.readouterr().out.splitlines()
    assert status == 1
    assert printed[0] == "message 1: AA"
    assert printed[1].startswith("message 2: AE PID-3: no patient has the medical record number MRN9999")
    assert record_row_counts()["Resource"] >= 1 + 1 + 2 + 1  # patient, report, two results, specimen
    assert DeadLetter.objects.get().control_id == "BAD"


def test_sending_to_a_port_where_nobody_listens_says_so(tmp_path, capsys):
    path = tmp_path / "one.hl7"
    path.write_bytes(oru(CHOLESTEROL))
    assert listener.send_file(path, "127.0.0.1", 1, timeout=2) == 2
    assert "could not connect to 127.0.0.1:1" in capsys.readouterr().err


def test_a_file_without_messages_is_refused_before_connecting(tmp_path, capsys):
    path = tmp_path / "empty.hl7"
    path.write_text("hello\n")
    assert listener.send_file(path, "127.0.0.1", 1) == 2
    assert "holds no HL7 message" in capsys.readouterr().err
