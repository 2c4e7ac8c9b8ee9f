"""The claim status lifecycle both claims and remittance follow."""

import pytest

from mederi.billing import claim_status
from mederi.core import systems


def test_a_new_claim_walks_the_lifecycle_to_paid():
    claim = claim_status.set_status({"resourceType": "Claim"}, claim_status.DRAFT)
    for step in ("scrubbed", "submitted", "accepted", "partially-paid", "paid"):
        claim = claim_status.with_status(claim, step)
    assert claim_status.status_of(claim) == "paid"
    assert [e["url"] for e in claim["extension"]] == [systems.CLAIM_STATUS]


def test_a_move_out_of_order_is_refused_saying_what_may_come_next():
    claim = claim_status.set_status({"resourceType": "Claim"}, claim_status.SCRUBBED)
    with pytest.raises(claim_status.InvalidTransition, match="scrubbed claim cannot become paid.*Draft, Submitted"):
        claim_status.with_status(claim, claim_status.PAID)
    assert claim_status.status_of(claim) == "scrubbed"


def test_an_unknown_status_is_refused():
    with pytest.raises(claim_status.InvalidTransition, match="not a claim status"):
        claim_status.with_status({"resourceType": "Claim"}, "lost")


def test_a_rejected_claim_goes_back_to_draft_and_a_claim_without_the_extension_is_a_draft():
    assert claim_status.status_of({"resourceType": "Claim"}) == "draft"
    rejected = claim_status.set_status({"resourceType": "Claim"}, claim_status.REJECTED)
    assert claim_status.status_of(claim_status.with_status(rejected, "draft")) == "draft"


def test_claim_number_and_line_control_number_follow_the_contract():
    claim = {"identifier": [{"system": systems.CLAIM_NUMBER, "value": "C000123"}]}
    assert claim_status.claim_number(claim) == "C000123"
    assert claim_status.line_control_number("C000123", 2) == "C000123-2"
