"""Scrubbing and sending claims: one 837P file per payer batch, through the payer's clearinghouse connector.

`scrub_claim` runs the scrubber (`scrubber.findings`) on a draft Claim and moves it to scrubbed;
`submit_claims` writes one interchange per payer (ISA13 from `ControlNumber`), hands it to the
connector, and then, in one transaction, keeps it as an outbound `Interchange` with a `BatchClaim` row
per claim, posts each claim's charge to the ledger (`claim_charges`: from now on the payer owes it) and
marks the claims submitted. A file the clearinghouse refused leaves the claims scrubbed, to be sent again.
"""

from __future__ import annotations

from django.db import transaction

from mederi.audit import services as audit
from mederi.billing import claim_charges, claim_status
from mederi.billing.claims import scrubber, x837
from mederi.billing.claims.claims import ClaimError, claim_data
from mederi.billing.claims.tables import BatchClaim
from mederi.billing.clearinghouse import ClearinghouseError
from mederi.billing.connectors import connector_for
from mederi.billing.ledger import services as ledger
from mederi.billing.models import ControlNumber, Interchange, PayerConnection
from mederi.billing.remittance.matching import ClaimMatch
from mederi.core import clock
from mederi.core.context import Context
from mederi.fhir.repository import Repository

SUBMIT_PERMISSION = "claims.submit"


def _move(repository: Repository, claim_id: str, status: str) -> dict:
    stored = repository.read("Claim", claim_id)
    try:
        changed = claim_status.with_status(stored.as_dict(), status)
    except claim_status.InvalidTransition as error:
        raise ClaimError.single(str(error), expression="status") from None
    return repository.update("Claim", claim_id, changed).stored.as_dict()


def scrub_claim(context: Context, claim_id: str) -> None:
    """Run the scrubber; raises ClaimError listing every finding that stops the claim (warnings do not)."""
    repository = Repository(context)
    claim = repository.read("Claim", claim_id).as_dict()
    problems = scrubber.blocking(scrubber.findings(repository, claim))
    if problems:
        raise ClaimError(issues=problems)
    _move(repository, claim_id, claim_status.SCRUBBED)


def _payer_of(repository: Repository, claim: dict) -> str:
    focal = next(i for i in claim["insurance"] if i.get("focal"))
    coverage = repository.read("Coverage", focal["coverage"]["reference"].split("/", 1)[1]).as_dict()
    return coverage["payor"][0]["reference"].split("/", 1)[1]


def require_submitting(context: Context) -> None:
    context.require(SUBMIT_PERMISSION, "your roles do not allow submitting claims")


def submit_claims(context: Context, claim_ids: list[str]) -> list[Interchange]:
    """Send scrubbed claims, one 837P file per payer; returns the files sent."""
    require_submitting(context)
    repository = Repository(context)
    who = audit.actor_name(context)
    batches: dict[str, list[tuple[str, x837.ClaimData, dict]]] = {}
    for claim_id in claim_ids:
        claim = repository.read("Claim", claim_id).as_dict()
        if claim_status.status_of(claim) != claim_status.SCRUBBED:
            raise ClaimError.single(f"Claim {claim_status.claim_number(claim)} is "
                                    f"{claim_status.LABELS[claim_status.status_of(claim)].lower()}: "
                                    "only scrubbed claims are sent.", expression="status")
        batches.setdefault(_payer_of(repository, claim), []).append((claim_id, claim_data(repository, claim), claim))
    sent = []
    for payer_id, claims in batches.items():
        connection = PayerConnection.objects.filter(organization_id=payer_id, active=True).first()
        if connection is None:
            raise ClaimError.single("The payer has no active clearinghouse connection: set one up in the payer "
                                    "directory.", expression="insurance")
        control = ControlNumber.next()
        text = x837.write_837([data for _, data, _ in claims], submitter=x837.Submitter(
            claims[0][1].billing.name, connection.sender_id, connection.submitter_name or "BILLING OFFICE",
            "0000000000"), receiver_name=claims[0][1].payer_name, receiver_id=connection.receiver_id,
            sender_id=connection.sender_id, interchange_receiver_id=connection.receiver_id, control_number=control,
            when=clock.now(), usage=connection.usage)
        name = f"claims-{control:09d}.837"
        try:
            connector_for(connection).submit_batch(text.encode("ascii"), name=name)
        except ClearinghouseError as error:
            raise ClaimError.single(f"The clearinghouse did not take the claims: {error.message}") from None
        with transaction.atomic():
            interchange = Interchange.objects.create(direction=Interchange.OUTBOUND, kind="837", payer_id=payer_id,
                                                     control_number=f"{control:09d}", request_id=name, content=text)
            BatchClaim.objects.bulk_create([BatchClaim(interchange=interchange, claim_id=claim_id,
                                                       claim_number=data.claim_number, file_name=name)
                                            for claim_id, data, _ in claims])
            ledger.post_many_ids([draft for _, _, claim in claims for draft in claim_charges.drafts_for(
                repository, ClaimMatch(claim, payer_id), payer_id, posted_by=who)[0]])
            for claim_id, _, _ in claims:
                _move(repository, claim_id, claim_status.SUBMITTED)
        sent.append(interchange)
    return sent
