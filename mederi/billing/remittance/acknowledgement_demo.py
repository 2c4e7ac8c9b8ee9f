"""Acknowledgements in the demo practice: every claim file sent is answered by the stand-in clearinghouse
with a 999 and a 277CA, picked up the way the periodic job does. María Núñez's visit is billed and sent
too, and the payer rejects it (her member id does not match its records), so the rejected-claims queue
has something to show. Runs before the remittance demo, as acknowledgements come before payments.
Safe to run again: nothing is sent or answered twice."""

from __future__ import annotations

import datetime as dt

from mederi.billing import claim_status
from mederi.billing.claims.submit import scrub_claim, submit_claims
from mederi.billing.claims.workflow import Row, bill_visit, visit_for
from mederi.billing.clearinghouse.claims_responder import ClaimAcknowledger
from mederi.billing.models import Interchange
from mederi.billing.x12.acknowledgement import Status
from mederi.core.context import Context
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository

from . import pickup
from .models import ClaimAcknowledgement

MEMBER_ID_MISMATCH = Status("A7", "164", "IL")  # rejected for invalid information: the subscriber's member number


def _send_marias_visit(context: Context, today: dt.date) -> str | None:
    """Bill and send María Núñez's visit of five days ago; returns its claim number."""
    repository = Repository(context)
    visit_id = visit_for(context, "demo-pat-2", today - dt.timedelta(days=5), "demo-dr-ruiz")
    claim_id = bill_visit(context, visit_id, ["I10"], [Row("99213", pointers=["1"])])
    scrub_claim(context, claim_id)
    submit_claims(context, [claim_id])
    return claim_status.claim_number(repository.read("Claim", claim_id).as_dict())


def load_demo(today: dt.date | None = None) -> str:
    if ClaimAcknowledgement.objects.exists():
        return "acknowledgements demo: already in place"
    context = Context.system("demo")
    today = today or dt.date.today()
    notes, rejected = [], {}
    try:
        number = _send_marias_visit(context, today)
        rejected[number] = MEMBER_ID_MISMATCH
    except MederiError as error:
        notes.append(f"María Núñez's visit not sent: {'; '.join(i.diagnostics for i in error.issues)}")
    repository = Repository(context)
    for sent in Interchange.objects.filter(direction=Interchange.OUTBOUND, kind="837").order_by("pk"):
        payer = repository.read("Organization", sent.payer_id).as_dict() if sent.payer_id else {}
        answer = ClaimAcknowledger(payer_name=(payer.get("name") or "PAYER").upper()[:60], payer_id="DEMOPAYER",
                                   sender_id="CLEARINGHOUSE", reject=rejected)
        stem = sent.request_id.rsplit(".", 1)[0]
        for kind, data in answer(sent.content.encode("ascii"), "837P").items():
            pickup.record("demo:stand-in clearinghouse", f"{stem}.{kind}", data)
    report = pickup.PickupReport()
    pickup.process_received(report, context)
    accepted = ClaimAcknowledgement.objects.filter(outcome=ClaimAcknowledgement.ACCEPTED).count()
    waiting = ClaimAcknowledgement.objects.filter(outcome=ClaimAcknowledgement.REJECTED).count()
    return "; ".join([f"acknowledgements demo: {len(report.processed)} file(s) applied ({accepted} answer(s) "
                      f"accepting, {waiting} rejection(s) at /billing/remittance/rejections/)", *notes])
