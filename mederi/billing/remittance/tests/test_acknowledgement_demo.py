"""The demo practice's acknowledgements: claim files answered by the stand-in clearinghouse before the 835,
María Núñez's claim rejected by the payer and waiting in the rejections queue; loading again changes nothing."""

import pytest

from mederi.billing import claim_status
from mederi.billing.remittance.models import ClaimAcknowledgement, InboundFile
from mederi.core.context import Context
from mederi.fhir.repository import Repository


@pytest.mark.django_db
def test_the_demo_acknowledges_its_claims_and_queues_one_rejection():
    from mederi.demo import load_demo

    load_demo()
    [rejection] = ClaimAcknowledgement.objects.filter(outcome="rejected")
    assert rejection.kind == "277CA" and rejection.patient_id == "demo-pat-2"
    assert "Rejected for invalid information: entity's contract/member number, subscriber (A7:164:IL)" in (
        rejection.explanation)
    assert ClaimAcknowledgement.objects.filter(outcome="accepted", kind="999").exists()
    repository = Repository(Context.system("test"))
    acknowledged = {a.claim_id for a in ClaimAcknowledgement.objects.all()}
    statuses = claim_status.current_statuses([repository.read("Claim", claim_id).as_dict()
                                              for claim_id in acknowledged])
    assert statuses[rejection.claim_id] == claim_status.REJECTED
    assert claim_status.PAID in statuses.values()  # acknowledged, then paid by the demo 835
    answers, files = ClaimAcknowledgement.objects.count(), InboundFile.objects.count()
    load_demo()
    assert (ClaimAcknowledgement.objects.count(), InboundFile.objects.count()) == (answers, files)
