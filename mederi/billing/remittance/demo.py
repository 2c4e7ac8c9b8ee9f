"""Remittance in the demo practice: the payer answers the first submitted demo claim with an 835 that is posted
(payment, contractual write-down, coinsurance left to the patient), plus one payment for a claim the practice
never sent, which lands in the work queue. Other submitted claims are charged to their payer, so A/R aging has
something to show. Safe to run again: the same 835 posts nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mederi.billing import claim_status
from mederi.billing.ledger import services as ledger
from mederi.billing.x12.remittance import Adjustment, ClaimPayment, Remittance, ServiceLine
from mederi.billing.x12.remittance_writer import build_835
from mederi.core.context import Context
from mederi.fhir.repository import Repository

from .matching import find_claims
from .models import RemittanceFile
from .posting import post_remittance

CENT = Decimal("0.01")


def _line(claim_number: str, item: dict) -> ServiceLine:
    charge = Decimal(str(item.get("net", {}).get("value", "0")))
    allowed = (charge * Decimal("0.8")).quantize(CENT)
    paid = (allowed * Decimal("0.8")).quantize(CENT)
    code = item["productOrService"]["coding"][0]["code"]
    day = dt.date.fromisoformat(item["servicedDate"]) if item.get("servicedDate") else None
    adjustments = [Adjustment("CO", "45", charge - allowed)] + ([Adjustment("PR", "2", allowed - paid)]
                                                                 if allowed != paid else [])
    return ServiceLine(procedure=code, charge=charge, paid=paid, allowed=allowed, service_start=day, service_end=day,
                       control_number=claim_status.line_control_number(claim_number, item["sequence"]),
                       adjustments=adjustments)


def demo_remittance(claim: dict, today: dt.date) -> str:
    number = claim_status.claim_number(claim)
    lines = [_line(number, item) for item in claim.get("item", ())]
    answered = ClaimPayment(number, "1", sum((line.charge for line in lines), Decimal("0")),
                            sum((line.paid for line in lines), Decimal("0")), filing_indicator="12",
                            payer_claim_number=f"ACME{number[-6:]}", lines=lines)
    stranger = ClaimPayment("C999999999", "1", Decimal("80.00"), Decimal("51.20"), patient_last="NOBODY",
                            patient_first="KNOWN", adjustments=[Adjustment("CO", "45", Decimal("16.00")),
                                                                Adjustment("PR", "2", Decimal("12.80"))])
    remittance = Remittance("0001", "I", Decimal("0"), "ACH", today, f"DEMO-EFT-{number}", "1370000001",
                            payer_name="ACME HEALTH PLAN", payer_id="ACME01", payee_name="RIVERSIDE FAMILY MEDICINE",
                            payee_id_qualifier="XX", payee_id="1612345672", produced_on=today,
                            claims=[answered, stranger])
    remittance.total = remittance.claims_paid
    return build_835(remittance, sender_id="ACMEHEALTH", receiver_id="RIVERSIDEFM", control_number=835,
                     when=dt.datetime(today.year, today.month, today.day, 6, 0))


def load_demo(today: dt.date | None = None) -> str:
    if RemittanceFile.objects.filter(source="demo").exists():
        return "remittance demo: already in place (nothing was posted again)"
    context = Context.system("demo")
    today = today or dt.date.today()
    repository = Repository(context)
    claims = [stored.as_dict() for stored in repository.search("Claim", [("_count", "100")],
                                                             first_page_only=True).matches]
    statuses = claim_status.current_statuses(claims)
    # Sent and not refused: acknowledged (accepted) or still waiting for the acknowledgement.
    submitted = [c for c in claims if statuses[c["id"]] in (claim_status.SUBMITTED, claim_status.ACCEPTED)
                 and claim_status.claim_number(c)]
    if not submitted:
        return "remittance demo: no submitted claim to answer"
    submitted.sort(key=lambda c: claim_status.claim_number(c))
    matches = find_claims(repository, [claim_status.claim_number(c) for c in submitted])
    answered = claim_status.claim_number(submitted[0])
    for match in [m for number, found in sorted(matches.items()) if number != answered for m in found]:
        ledger.post(ledger.charge_draft(claim_status.claim_number(match.claim), match.patient_id, match.payer_id,
                                        match.total, match.service_date, match.claim_id))
    result = post_remittance(context, demo_remittance(submitted[0], today), name="acme-demo-era.835", source="demo")
    return f"remittance demo: {result.summary()}"
