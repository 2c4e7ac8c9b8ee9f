"""999 and 277CA picked up: claims accepted or rejected with the reason in words, rejections queued,
nothing read twice, nothing lost when a run dies, a bad file changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from mederi.billing import claim_status
from mederi.billing.claims import x837
from mederi.billing.claims.tables import BatchClaim
from mederi.billing.claims.tests.test_837_scenarios import base
from mederi.billing.models import Interchange
from mederi.billing.remittance import acknowledgements, pickup
from mederi.billing.remittance.models import ClaimAcknowledgement, InboundFile
from mederi.billing.remittance.tests.test_pickup import drop  # noqa: F401 - the drop-folder fixture
from mederi.billing.x12.acknowledgement import ElementError, SegmentError, Status
from mederi.billing.x12.acknowledgement_writer import build_277ca, build_999
from mederi.conftest import record_row_counts
from mederi.core.context import Context

from .conftest import make_claim

WHEN = dt.datetime(2026, 11, 3, 10, 0)
SYSTEM = Context.system("test")


def send(numbers: list[str], control: int = 42) -> tuple[str, dict[str, str]]:
    """Claims at "submitted" and the 837 they went in, stored as it is when sent; returns its text and the ids."""
    ids = {number: make_claim(number) for number in numbers}
    claims = []
    for number in numbers:
        claim = base()
        claim.claim_number = number
        claims.append(claim)
    text = x837.write_837(claims, submitter=x837.Submitter("RIVERSIDE", "RIVERSIDE", "BILLING", "2175551234"),
                          receiver_name="ACME", receiver_id="ACMEHEALTH", sender_id="RIVERSIDE",
                          interchange_receiver_id="ACMEHEALTH", control_number=control, when=WHEN)
    sent = Interchange.objects.create(direction=Interchange.OUTBOUND, kind="837", payer_id="payer-acme",
                                      control_number=f"{control:09d}", request_id=f"claims-{control:09d}.837",
                                      content=text)
    BatchClaim.objects.bulk_create([BatchClaim(interchange=sent, claim_id=ids[n], claim_number=n,
                                               file_name=sent.request_id) for n in numbers])
    return text, ids


def status(claim_id: str) -> str:
    from mederi.billing.tests.conftest import system_repository

    return claim_status.status_of(system_repository().read("Claim", claim_id).as_dict())


def a999(text: str, control: int = 7, **options) -> str:
    return build_999(text, control_number=control, sender_id="ACMEHEALTH", receiver_id="RIVERSIDE", when=WHEN,
                     **options)


def a277(text: str, control: int = 8, **options) -> str:
    return build_277ca(text, control_number=control, sender_id="ACMEHEALTH", receiver_id="RIVERSIDE", when=WHEN,
                       payer_name="ACME HEALTH PLAN", payer_id="ACME01", **options)


def test_a_999_accepting_the_file_moves_its_claims_to_accepted(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001", "C000000002"])
    (drop / "claims-000000042.999").write_text(a999(text))
    report = pickup.pick_up()
    assert report.processed == ["claims-000000042.999"]
    assert [status(ids[n]) for n in ids] == ["accepted", "accepted"]
    assert "2 claim(s) accepted, 0 rejected" in InboundFile.objects.get().message
    assert not ClaimAcknowledgement.objects.filter(outcome="rejected").exists()


def test_a_999_rejecting_the_set_rejects_its_claims_with_the_error_in_words_and_queues_them(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001", "C000000002"])
    error = SegmentError("NM1", "12", "2010", "8", "C000000002", [ElementError("9", "67", "7", "M100")])
    (drop / "claims.999").write_text(a999(text, errors={"0001": [error]}))
    pickup.pick_up()
    assert [status(ids[n]) for n in ids] == ["rejected", "rejected"]
    queued = ClaimAcknowledgement.objects.get(claim_number="C000000002")
    assert queued.outcome == "rejected" and queued.resolved_at is None
    assert "NM1 segment 12 in loop 2010: segment has data element errors" in queued.explanation
    assert "invalid code value (element error 7): 'M100' (claim C000000002)" in queued.explanation
    assert queued.status_change == "submitted → rejected"


def test_a_277ca_accepts_some_claims_and_rejects_another_with_the_status_explained(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001", "C000000002"])
    (drop / "claims.999").write_text(a999(text))
    pickup.pick_up()  # the clearinghouse answers first, then the payer
    bad = {"C000000002": Status("A7", "562", "85")}
    (drop / "claims.277").write_text(a277(text, decide=lambda claim: bad.get(claim.claim_number)))
    assert pickup.pick_up().processed == ["claims.277"]
    assert status(ids["C000000001"]) == "accepted" and status(ids["C000000002"]) == "rejected"
    rejection = ClaimAcknowledgement.objects.get(kind="277CA", outcome="rejected")
    assert rejection.explanation.startswith("ACME HEALTH PLAN (277CA): Rejected for invalid information: "
                                            "entity's National Provider Identifier (NPI), billing provider")
    assert rejection.status_change == "accepted → rejected"


def test_the_answers_are_kept_as_claim_responses_beside_the_claims(clinic, drop):  # noqa: F811
    from mederi.billing.tests.conftest import system_repository

    text, ids = send(["C000000001"])
    (drop / "claims.277").write_text(a277(text, decide=lambda claim: Status("A3", "33", "IL")))
    pickup.pick_up()
    [stored] = system_repository().search("ClaimResponse", [("request", f"Claim/{ids['C000000001']}")]).matches
    response = stored.as_dict()
    assert response["outcome"] == "error" and "subscriber and subscriber id not found" in response["disposition"]


def test_the_same_answer_in_another_file_changes_nothing(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001"])
    (drop / "first.999").write_text(a999(text, control=7))
    (drop / "again.999").write_text(a999(text, control=7).replace("*1000*", "*1001*"))  # other bytes, same answer
    pickup.pick_up()
    assert InboundFile.objects.count() == 2 and ClaimAcknowledgement.objects.count() == 1
    assert "1 answered before" in InboundFile.objects.order_by("pk").last().message


def test_a_run_that_dies_half_way_loses_nothing_and_the_next_run_applies_it(clinic, drop, monkeypatch):  # noqa: F811
    text, ids = send(["C000000001", "C000000002"])
    (drop / "claims.277").write_text(a277(text, decide=lambda claim: Status("A6", "254", "85")))
    real = acknowledgements._move_claim
    calls = []

    def dies_on_the_second_claim(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(*args)

    monkeypatch.setattr(acknowledgements, "_move_claim", dies_on_the_second_claim)
    assert pickup.pick_up().processed == []
    assert InboundFile.objects.get().state == InboundFile.RECEIVED
    assert [status(ids[n]) for n in ids] == ["submitted", "submitted"]  # the first claim's move rolled back
    assert not ClaimAcknowledgement.objects.exists()
    monkeypatch.setattr(acknowledgements, "_move_claim", real)
    assert pickup.pick_up().processed == ["claims.277"]
    assert [status(ids[n]) for n in ids] == ["rejected", "rejected"]
    assert ClaimAcknowledgement.objects.count() == 2


@pytest.mark.parametrize("content, words", [
    (lambda text: a999(text).replace("AK9*A*1*1*1~", "AK9*A*one*1*1~"), "AK902 should be a count"),
    (lambda text: a999(text).replace("AK1*HC*42", "AK1*HC*77"), "matches no claim file sent from here"),
    (lambda text: a999(text).replace("AK2*837*0001", "AK2*837*0009"), "has no such set"),
    (lambda text: a277(text).replace("STC*A2:20:PR", "STC*A2"), "must give a status category and a status code"),
])
def test_a_bad_acknowledgement_is_marked_failed_with_the_reason_and_changes_nothing(clinic, drop, content,  # noqa: F811
                                                                                   words):
    text, ids = send(["C000000001"])
    before = record_row_counts()
    suffix = "277" if "STC" in words or "status" in words else "999"
    (drop / f"bad.{suffix}").write_text(content(text))
    report = pickup.pick_up()
    assert report.failed == [f"bad.{suffix}"]
    inbound = InboundFile.objects.get()
    assert inbound.state == InboundFile.FAILED and words in inbound.message and "nothing was changed" in inbound.message
    assert record_row_counts() == before and not ClaimAcknowledgement.objects.exists()
    assert status(ids["C000000001"]) == "submitted"


def test_a_claim_already_paid_is_not_moved_back_by_a_late_acknowledgement(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001"])
    from mederi.billing.tests.conftest import system_repository

    repository = system_repository()
    claim = repository.read("Claim", ids["C000000001"]).as_dict()
    repository.update("Claim", ids["C000000001"], claim_status.set_status(claim, claim_status.PAID))
    (drop / "late.999").write_text(a999(text))
    pickup.pick_up()
    assert status(ids["C000000001"]) == "paid"
    assert ClaimAcknowledgement.objects.get().status_change == "stays paid"


def test_a_999_is_not_applied_to_a_file_whose_group_number_differs(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001"], control=5)
    legacy = Interchange.objects.get()  # sent before claim files numbered their group with their ISA13
    Interchange.objects.filter(pk=legacy.pk).update(content=text.replace("*5*X*005010X222A1", "*1*X*005010X222A1"))
    (drop / "claims.999").write_text(a999(text))  # AK1*HC*5
    assert pickup.pick_up().failed == ["claims.999"]
    assert "matches no claim file sent from here" in InboundFile.objects.get().message
    assert status(ids["C000000001"]) == "submitted"


def a_ta1(text: str, code: str, note: str = "000", control: int = 9) -> str:
    from mederi.billing.x12.acknowledgement_writer import build_ta1

    return build_ta1(text, control_number=control, sender_id="ACMEHEALTH", receiver_id="RIVERSIDE", when=WHEN,
                     code=code, note=note)


def test_a_ta1_refusing_the_file_rejects_every_claim_in_it_with_the_reason_in_words(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001", "C000000002"])
    (drop / "claims-000000042.TA1").write_text(a_ta1(text, "R", "025"))
    report = pickup.pick_up()
    assert report.processed == ["claims-000000042.TA1"] and InboundFile.objects.get().kind == "TA1"
    assert [status(ids[n]) for n in ids] == ["rejected", "rejected"]
    queued = ClaimAcknowledgement.objects.get(claim_number="C000000001")
    assert (queued.kind, queued.outcome, queued.resolved_at) == ("TA1", "rejected", None)
    assert queued.explanation == (
        "Clearinghouse (TA1 for file claims-000000042.837): the whole file was refused: the whole file was not "
        "read; this interchange control number was used before: the file looks like a duplicate (TA1 note 025). "
        "Nothing in it was read: correct the file's envelope and send the claim again.")
    (drop / "again.TA1").write_text(a_ta1(text, "R", "025", control=10))  # the same answer in another file
    pickup.pick_up()
    assert ClaimAcknowledgement.objects.count() == 2


def test_a_ta1_receiving_the_file_changes_no_claim_and_says_so(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001"])
    (drop / "claims.TA1").write_text(a_ta1(text, "A"))
    pickup.pick_up()
    assert status(ids["C000000001"]) == "submitted" and not ClaimAcknowledgement.objects.exists()
    assert "claim file claims-000000042.837 received without errors" in InboundFile.objects.get().message


def test_a_ta1_for_a_file_never_sent_changes_nothing(clinic, drop):  # noqa: F811
    text, ids = send(["C000000001"])
    before = record_row_counts()
    (drop / "stranger.TA1").write_text(a_ta1(text.replace("*000000042*", "*000000077*", 1), "R", "001"))
    pickup.pick_up()
    inbound = InboundFile.objects.get()
    assert inbound.state == InboundFile.FAILED and "matches no claim file sent from here" in inbound.message
    assert status(ids["C000000001"]) == "submitted" and record_row_counts() == before
    assert not ClaimAcknowledgement.objects.exists()
