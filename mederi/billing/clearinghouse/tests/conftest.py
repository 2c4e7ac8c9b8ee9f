"""A stand-in clearinghouse per test module, and a payer whose mood a test picks through the payload."""

import socket
import threading

import asyncssh
import pytest

from mederi.billing.clearinghouse.standin import StandIn


def interchange(*segments: str, control: str = "000000001") -> bytes:
    """An X12 interchange around `segments` (ISA is fixed-width: 106 characters)."""
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{'MEDERI':15}*ZZ*{'CLEARINGHOUSE':15}*250101*1200*^*00501*{control}*0*T*:~"
    )
    assert len(isa) == 106
    return (isa + "".join(f"{segment}~" for segment in segments) + f"IEA*1*{control}~").encode()


def request_270(note: str = "") -> bytes:
    return interchange(
        "GS*HS*MEDERI*CLEARINGHOUSE*20250101*1200*1*X*005010X279A1",
        "ST*270*0001*005010X279A1",
        f"BHT*0022*13*{note or 'REF1'}*20250101*1200",
        "SE*3*0001",
        "GE*1*1",
    )


def claim_837(note: str = "") -> bytes:
    return interchange(
        "GS*HC*MEDERI*CLEARINGHOUSE*20250101*1200*2*X*005010X222A1",
        "ST*837*0001*005010X222A1",
        f"BHT*0019*00*{note or 'BATCH1'}*20250101*1200*CH",
        "SE*3*0001",
        "GE*1*2",
    )


ANSWER_271 = interchange(
    "GS*HB*CLEARINGHOUSE*MEDERI*20250101*1200*1*X*005010X279A1",
    "ST*271*0001*005010X279A1",
    "BHT*0022*11*REF1*20250101*1200",
    "EB*1**30**GOLD PLAN",
    "SE*4*0001",
    "GE*1*1",
)
ANSWER_999 = interchange(
    "GS*FA*CLEARINGHOUSE*MEDERI*20250101*1200*1*X*005010X231A1",
    "ST*999*0001*005010X231A1",
    "AK1*HC*2*005010X222A1",
    "AK9*A*1*1*1",
    "SE*4*0001",
    "GE*1*1",
)


class ScriptedPayer:
    """Answers a 270 with ANSWER_271 and anything else with ANSWER_999, unless the payload says otherwise:
    SILENT -> no answer at all, HANG -> waits until released, FAIL -> the payer's system breaks."""

    def __init__(self):
        self.release = threading.Event()

    def __call__(self, payload: bytes, kind: str) -> bytes | None:
        if b"SILENT" in payload:
            return None
        if b"HANG" in payload:
            self.release.wait(timeout=30)
            return ANSWER_271
        if b"FAIL" in payload:
            raise RuntimeError("eligibility database offline")
        return ANSWER_271 if kind == "270" else ANSWER_999


CLIENT_KEY = asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture(scope="module")
def payer():
    payer = ScriptedPayer()
    yield payer
    payer.release.set()


@pytest.fixture(scope="module")
def standin(payer):
    with StandIn(
        payer, username="clinic", password="s3cret", authorized_client_key=CLIENT_KEY.export_public_key().decode()
    ) as running:
        yield running


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
