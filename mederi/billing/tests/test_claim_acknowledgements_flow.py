"""End to end over SFTP: a claim file sent to the stand-in clearinghouse is answered with a real 999 and
277CA, which the pickup job fetches and applies; a rejected claim reaches the rejections queue page."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from mederi.billing import claim_status
from mederi.billing.claims.charges import capture_charges
from mederi.billing.claims.claims import create_claim
from mederi.billing.claims.submit import scrub_claim, submit_claims
from mederi.billing.clearinghouse.claims_responder import ClaimAcknowledger
from mederi.billing.remittance import pickup
from mederi.billing.remittance.models import ClaimAcknowledgement, InboundFile
from mederi.billing.tests.conftest import context_of, system_repository
from mederi.billing.tests.test_claims_flow import SYSTEM, lines, visit  # noqa: F401 - the visit fixture


@pytest.fixture
def inbox(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDERI_CLEARINGHOUSE_INBOX", str(tmp_path))


def send_claim(visit) -> str:  # noqa: F811
    claim_id = create_claim(SYSTEM, capture_charges(SYSTEM, visit, lines()).charge_ids, ["cov-jane"])
    scrub_claim(SYSTEM, claim_id)
    submit_claims(context_of("bill", "biller"), [claim_id])
    return claim_id


def answers_arrive(standin, count: int) -> None:
    """The stand-in answers an upload on its own thread: wait until its files are in outbound/."""
    outbound = standin.sftp_root / "outbound"
    for _ in range(200):
        if len([p for p in outbound.iterdir() if not p.name.endswith(".part")]) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the stand-in wrote {sorted(p.name for p in outbound.iterdir())}")


def status(claim_id: str) -> str:
    return claim_status.status_of(system_repository().read("Claim", claim_id).as_dict())


def test_the_clearinghouse_and_payer_accept_a_claim_sent_over_sftp(visit, sftp, payer, standin, inbox):  # noqa: F811
    for old in (standin.sftp_root / "outbound").iterdir():
        old.unlink()
    payer.override = ClaimAcknowledger(payer_name="ACME HEALTH PLAN", payer_id="ACME01")
    claim_id = send_claim(visit)
    answers_arrive(standin, 2)
    report = pickup.pick_up()
    assert sorted(name.rsplit(".", 1)[1] for name in report.processed) == ["277", "999"]
    assert status(claim_id) == "accepted"
    assert set(InboundFile.objects.values_list("state", flat=True)) == {InboundFile.PROCESSED}
    assert pickup.pick_up().recorded == []  # still listed on the server, not read again


def test_a_payer_rejection_lands_in_the_queue_with_the_reason_and_is_dealt_with(visit, sftp, payer, standin,  # noqa: F811
                                                                               inbox):
    for old in (standin.sftp_root / "outbound").iterdir():
        old.unlink()
    payer.override = ClaimAcknowledger(payer_name="ACME HEALTH PLAN", payer_id="ACME01", unknown_members={"M100"})
    claim_id = send_claim(visit)
    answers_arrive(standin, 2)
    pickup.pick_up()
    assert status(claim_id) == "rejected"
    client = Client()
    client.force_login(get_user_model().objects.get(username="bill"))  # the biller who sent it
    page = client.get("/billing/remittance/rejections/").content.decode()
    assert "Returned as unprocessable: subscriber and subscriber id not found, subscriber (A3:33:IL)" in page
    assert f"/billing/claims/{claim_id}/" in page
    rejection = ClaimAcknowledgement.objects.get(outcome="rejected")
    refused = client.post("/billing/remittance/rejections/", {"item": rejection.pk, "resolution": "ok"}, follow=True)
    assert "at least 5 characters" in refused.content.decode()
    client.post("/billing/remittance/rejections/", {"item": rejection.pk, "resolution": "member id corrected, sent again"})
    assert "No rejected claims waiting" in client.get("/billing/remittance/rejections/").content.decode()
    assert ClaimAcknowledgement.objects.get(pk=rejection.pk).resolved_by == "bill"
