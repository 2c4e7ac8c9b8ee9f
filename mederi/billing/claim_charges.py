"""What a claim puts on the ledger: its charge, owed by the payer it is billed to from the day it is sent,
so that A/R shows every claim still waiting for an answer; and, for a corrected or void claim, the
original's charge taken off once no payment of the payer's on it stands.

A secondary claim (coordination of benefits) charges nothing: it bills the share the primary left to the
patient, already on the patient's account. A void claim bills nothing either. Sending a claim
(`claims.submit`) posts these; the 835 posting applies the same rule to a claim it answers, for a claim
sent before charges were posted at sending: the charge's source key (`charge:<claim number>`) lets it post
only once.
"""

from __future__ import annotations

from mederi.billing import claim_status
from mederi.billing.ledger import services as ledger
from mederi.billing.remittance.matching import ClaimMatch
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository


def drafts_for(repository: Repository, match: ClaimMatch, payer_id: str, *, posted_by: str = "",
               reversed_ids: set[int] = frozenset()) -> tuple[list[ledger.Draft], list[str]]:
    """(ledger drafts, warnings) for the claim; `reversed_ids` are transactions about to be reversed."""
    drafts, warnings = [], []
    number = claim_status.claim_number(match.claim) or match.claim_id
    if match.replaces:
        try:
            original = claim_status.claim_number(repository.read("Claim", match.replaces).as_dict())
        except MederiError:  # gone, or not for this reader: nothing to take off
            original = None
        if original:
            reversal, why = ledger.replaced_charge_reversal(original, number, posted_by=posted_by,
                                                            reversed_ids=reversed_ids)
            drafts += [reversal] if reversal else []
            warnings += [why] if why else []
    if not match.is_secondary and not match.is_void:
        drafts.append(ledger.charge_draft(number, match.patient_id, payer_id, match.total, match.service_date,
                                          match.claim_id))
    return drafts, warnings
