"""Inbound pickup: files from the drop folder and SFTP recorded once, posted once, nothing lost when a run dies."""

from decimal import Decimal

import pytest

from mederi.billing.ledger import selectors
from mederi.billing.ledger.models import Transaction
from mederi.billing.ledger.services import CASH
from mederi.billing.models import PayerConnection
from mederi.billing.remittance import pickup, posting
from mederi.billing.remittance.models import InboundFile, RemittanceFile
from mederi.billing.tests.conftest import connect, payer, standin  # noqa: F401 - the stand-in fixtures
from mederi.billing.x12.envelope import write_interchange

from .conftest import era, make_claim, standard_payment

D = Decimal


@pytest.fixture
def drop(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDERI_CLEARINGHOUSE_INBOX", str(tmp_path))
    return tmp_path


def test_a_dropped_835_is_recorded_posted_and_moved_aside(clinic, drop):
    make_claim("C000000001")
    (drop / "acme-0302.835").write_text(era(standard_payment()))
    (drop / "half-written.835.part").write_text("ISA")
    report = pickup.pick_up()
    assert (report.recorded, report.processed) == (["acme-0302.835"], ["acme-0302.835"])
    assert selectors.balance_of(CASH) == D("120.00")
    assert (drop / "done" / "acme-0302.835").exists() and (drop / "half-written.835.part").exists()
    inbound = InboundFile.objects.get()
    assert inbound.state == InboundFile.PROCESSED and "Posted 1 claim payment" in inbound.message


def test_the_same_file_dropped_again_is_not_read_twice(clinic, drop):
    make_claim("C000000001")
    text = era(standard_payment())
    (drop / "first.835").write_text(text)
    pickup.pick_up()
    (drop / "again.835").write_text(text)
    report = pickup.pick_up()
    assert report.recorded == [] and InboundFile.objects.count() == 1
    assert Transaction.objects.count() == 2 and (drop / "done" / "again.835").exists()


def test_a_run_that_dies_while_posting_loses_nothing_and_the_next_run_posts(clinic, drop, monkeypatch):
    make_claim("C000000001")
    (drop / "acme.835").write_text(era(standard_payment()))
    real = posting.post_remittance

    def killed(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(posting, "post_remittance", killed)
    report = pickup.pick_up()
    assert report.processed == [] and InboundFile.objects.get().state == InboundFile.RECEIVED
    assert not Transaction.objects.exists() and not RemittanceFile.objects.exists()
    monkeypatch.setattr(posting, "post_remittance", real)
    assert pickup.pick_up().processed == ["acme.835"]
    assert selectors.balance_of(CASH) == D("120.00")


def test_an_unreadable_file_is_marked_failed_with_the_reason(clinic, drop):
    (drop / "broken.835").write_text(era(standard_payment()).replace("BPR*I*120.00*", "BPR*I*99.00*"))
    report = pickup.pick_up()
    assert report.failed == ["broken.835"]
    inbound = InboundFile.objects.get()
    assert inbound.state == InboundFile.FAILED and "21.00 apart" in inbound.message
    assert not Transaction.objects.exists()


def test_files_of_a_kind_without_a_handler_wait_and_are_handed_to_it_once_registered(clinic, drop, monkeypatch):
    monkeypatch.delitem(pickup.HANDLERS, "999")
    ack = write_interchange([("999", [["AK1", "HC", "1", "005010X222A1"], ["AK9", "A", "1", "1", "1"]],
                              "005010X231A1")], sender_id="CLEARING", receiver_id="PRACTICE", control_number=9)
    (drop / "claims-0001.999").write_text(ack)
    pickup.pick_up()
    waiting = InboundFile.objects.get()
    assert (waiting.kind, waiting.state) == ("999", InboundFile.RECEIVED)
    seen = []
    monkeypatch.setitem(pickup.HANDLERS, "999", lambda context, inbound: seen.append(inbound.name) or "accepted")
    assert pickup.pick_up().processed == ["claims-0001.999"] and seen == ["claims-0001.999"]
    assert InboundFile.objects.get().message == "accepted"


def test_835s_are_fetched_from_a_payers_sftp_server(clinic, standin, drop):  # noqa: F811
    make_claim("C000000001")
    connect(PayerConnection.SFTP, standin)
    (standin.sftp_root / "outbound" / "era-7001.835").write_text(era(standard_payment(), trace="SFTP-7001"))
    report = pickup.pick_up()
    assert "era-7001.835" in report.processed
    assert InboundFile.objects.get(name="era-7001.835").origin == "sftp:payer-acme"
    assert pickup.pick_up().recorded == []  # the server still lists it; it is not read again
