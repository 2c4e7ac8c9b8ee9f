"""Posting an 835: every claim payment, adjustment and provider-level adjustment into the ledger, with the
payer's answers kept as FHIR ClaimResponses and the check/EFT as a PaymentReconciliation.

Each ClaimResponse also carries the status the answer gives its Claim (paid, denied, partially paid,
or accepted again after a reversal; see claim_status): the Claim itself is not rewritten.

A whole file is one database transaction: ledger postings, the rows that remember what was posted,
work-queue items and FHIR resources are written together or not at all, so a crash half-way leaves
nothing half-posted and the file can simply be posted again. (One transaction per claim with a
checkpoint would let a huge file post in parts, but a part-posted check cannot be reconciled with
the bank, and 10,000 claims post in a few seconds.)

Posting the same 835 twice posts nothing the second time: a file already posted is recognised by
its checksum, and each claim payment by payer, trace number (TRN02), claim number, status and its
occurrence in the trace — so the same remittance re-sent in a different file is skipped too.

How money moves for one claim (debits first):
- payment: cash / payer account; contractual (CO): contractual adjustments / payer account;
  patient responsibility (PR): patient account / payer account; OA, PI, CR: other adjustments / payer
- the claim's charge (payer account / revenue) was posted when the claim was sent (`claim_charges`); for a
  claim sent before that, it is posted first;
- a reversal (CLP02 = 22) reverses the transaction of the payment it takes back;
- a provider-level adjustment (PLB): payer account / cash for its amount (a negative amount adds cash);
- a payment for a claim we cannot find is held on the payer's account (cash / payer) and queued;
- a secondary claim (coordination of benefits) bills what the primary left to the patient, whose charge
  is already posted under the primary claim's number: nothing is charged again, the secondary payer's
  payment and adjustments settle the patient's account instead of a payer's, and OA-23 (the prior
  payer's adjudication, restated) is kept on the ClaimResponse but posts nothing;
- a corrected claim (frequency 7) has its own number and charge: the original's charge is reversed when
  the corrected claim is sent, or else when its payment posts, provided the payer has reversed the
  original's payments by then (otherwise the file's warnings say the original's charge stays); a void
  claim (frequency 8) charges nothing and takes the original's charge off the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from mederi.audit import services as audit
from mederi.billing import claim_charges, claim_status
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import Transaction, as_cents
from mederi.billing.ledger.services import (
    CASH,
    CONTRACTUAL,
    OTHER_ADJUSTMENTS,
    Draft,
    Entry,
    patient_account,
    payer_account,
)
from mederi.billing.x12.envelope import X12Error
from mederi.billing.x12.remittance import ClaimPayment, Remittance, parse_835
from mederi.core import bulk, clock, collector
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.fhir.repository import Repository

from . import denials, matching, resources
from .models import PostedClaimPayment, RemittanceFile, WorkItem

ADJUSTMENT_ACCOUNTS = {"CO": CONTRACTUAL, "OA": OTHER_ADJUSTMENTS, "PI": OTHER_ADJUSTMENTS, "CR": OTHER_ADJUSTMENTS}
PRIOR_PAYER_IMPACT = ("OA", "23")  # on a secondary's 835: what the primary paid and adjusted, already posted


@dataclass
class PostingResult:
    file: RemittanceFile
    already_posted: bool = False
    claims_posted: int = 0
    claims_skipped: int = 0
    queued: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.already_posted:
            return f"{self.file.name} was posted before ({self.file.posted_at:%Y-%m-%d %H:%M}); nothing was posted again."
        text = f"Posted {self.claims_posted} claim payment(s) from {self.file.name}"
        if self.claims_skipped:
            text += f"; {self.claims_skipped} had been posted before and were skipped"
        if self.queued:
            text += f"; {self.queued} item(s) need a look in the work queue"
        return text + "."


@dataclass(slots=True)
class _ClaimPaymentRow:
    """A PostedClaimPayment to store, as a plain row: ten thousand model instances cost more than storing them."""

    file_id: int
    payer_key: str
    trace_number: str
    claim_number: str
    status_code: str
    occurrence: int
    charge_cents: int
    paid_cents: int
    claim_id: str = ""
    patient_id: str = ""
    payer_id: str = ""
    patient_cents: int = 0
    transaction_id: int | None = None
    claim_response_id: str = ""


class _Plan:
    """What one file will write, gathered before anything is written."""

    def __init__(self, repository: Repository, file: RemittanceFile, remittances: list[Remittance], who: str):
        self.repository, self.file, self.who = repository, file, who
        self.matches: dict[str, list[matching.ClaimMatch]] = {}
        self.drafts: list[Draft] = []
        self.rows: list[tuple[_ClaimPaymentRow, Draft | None]] = []
        self.items: list[WorkItem] = []
        self.responses: list[tuple[dict, str]] = []  # (ClaimResponse, its id), stored after the ledger
        self.statuses: dict[str, str] = {}  # Claim id -> its status as this file leaves it
        self.warnings: list[str] = []
        self.skipped = 0
        self.payers: dict[str, str] = {}
        self.reversed: set[int] = set()  # transactions this file reverses
        self.created = clock.now().isoformat()  # the ClaimResponses of one posting are created together

    def payer_of(self, remittance: Remittance, fallback: str) -> str:
        key = remittance.payer_id or remittance.payer_name
        if key not in self.payers:
            self.payers[key] = matching.find_payer(self.repository, remittance.payer_id)
        return self.payers[key] or fallback or f"x12-{key}"[:64]

    def queue(self, kind: str, remittance: Remittance, payment: ClaimPayment, detail: str, **values) -> None:
        self.items.append(WorkItem(kind=kind, file=self.file, claim_number=payment.claim_number,
                                   payer_name=remittance.payer_name[:200], detail=detail[:400],
                                   service_date=payment.service_start, **values))

    def add(self, remittance: Remittance) -> None:
        payer_key = (remittance.payer_id or remittance.payer_name)[:80]
        done = set(PostedClaimPayment.objects.filter(payer_key=payer_key, trace_number=remittance.trace_number)
                   .values_list("claim_number", "status_code", "occurrence"))
        seen: dict[tuple[str, str], int] = {}
        details = []
        self.matches = matching.find_claims(self.repository, [c.claim_number for c in remittance.claims
                                                              if (c.claim_number, c.status, 1) not in done])
        self.learn_statuses([match.claim for found in self.matches.values() for match in found])
        for payment in remittance.claims:
            occurrence = seen[(payment.claim_number, payment.status)] = seen.get((payment.claim_number,
                                                                                  payment.status), 0) + 1
            if (payment.claim_number, payment.status, occurrence) in done:
                self.skipped += 1
                continue
            row = _ClaimPaymentRow(self.file.pk, payer_key, remittance.trace_number, payment.claim_number,
                                   payment.status, occurrence, as_cents(payment.charge), as_cents(payment.paid))
            key = f"{payer_key}:{remittance.trace_number}:{payment.claim_number}:{payment.status}:{occurrence}"
            if payment.is_reversal:
                draft = self.reversal(remittance, payment, row, key)
            else:
                draft = self.payment(remittance, payment, row, key)
                if row.claim_response_id:
                    details.append((row.claim_id, row.claim_response_id, payment.paid))
            self.rows.append((row, draft))
            if draft is not None:
                self.drafts.append(draft)
        for index, adjustment in enumerate(remittance.provider_adjustments):
            payer = payer_account(self.payer_of(remittance, ""))
            self.drafts.append(Draft(
                Transaction.PROVIDER_ADJUSTMENT, "remittance", remittance.trace_number,
                [Entry(payer, adjustment.amount), Entry(CASH, -adjustment.amount)],
                source_key=f"plb:{payer_key}:{remittance.trace_number}:{index}", reason_code=adjustment.reason,
                memo=f"provider adjustment {adjustment.reason} {adjustment.reference}".strip(), posted_by=self.who))
        if details or remittance.provider_adjustments:
            reconciliation = resources.payment_reconciliation(remittance, payer_id=self.payers.get(
                remittance.payer_id or remittance.payer_name, ""), details=details)
            self.repository.update("PaymentReconciliation", resources.stable_id("payment", payer_key,
                                                                                 remittance.trace_number),
                                   {**reconciliation, "id": resources.stable_id("payment", payer_key,
                                                                                remittance.trace_number)})

    def reversal(self, remittance: Remittance, payment: ClaimPayment, row: _ClaimPaymentRow, key: str):
        earlier = (PostedClaimPayment.objects.filter(payer_key=row.payer_key, claim_number=payment.claim_number,
                                                     transaction__isnull=False)
                   .exclude(status_code="22").filter(transaction__reversed_by__isnull=True)
                   .exclude(transaction_id__in=self.reversed).select_related("transaction").order_by("-pk").first())
        if earlier is None:
            self.queue(WorkItem.ORPHAN_REVERSAL, remittance, payment, "The payer reverses a payment of "
                       f"{-payment.paid:.2f} for claim {payment.claim_number} that was never posted here: "
                       "check the payer's earlier remittances.", amount_cents=as_cents(payment.paid))
            return None
        self.reversed.add(earlier.transaction_id)  # a second reversal in this file takes back an older payment
        if earlier.paid_cents != -as_cents(payment.paid):
            self.warnings.append(f"claim {payment.claim_number}: the reversal takes back {-payment.paid:.2f} but "
                                 f"{earlier.paid:.2f} was posted; the posted payment was reversed in full")
        row.claim_id, row.patient_id, row.payer_id = earlier.claim_id, earlier.patient_id, earlier.payer_id
        if earlier.claim_id:
            if earlier.claim_id not in self.statuses:
                self.learn_statuses([self.repository.read("Claim", earlier.claim_id).as_dict()])
            self.answer(remittance, payment, row, [None] * len(payment.lines),
                        self.move_claim(earlier.claim_id, claim_status.ACCEPTED))
        return ledger.reversal_of(earlier.transaction, memo=f"payer reversed claim {payment.claim_number}",
                                  posted_by=self.who, source_key=f"remit-reversal:{key}")

    def payment(self, remittance: Remittance, payment: ClaimPayment, row: _ClaimPaymentRow, key: str):
        found = self.matches.get(payment.claim_number, [])
        if len(found) != 1:
            why = "no claim has this number" if not found else f"{len(found)} claims have this number"
            payer = payer_account(self.payer_of(remittance, ""))
            self.queue(WorkItem.UNMATCHED_CLAIM, remittance, payment,
                       f"Payment of {payment.paid:.2f} for claim {payment.claim_number} "
                       f"({payment.patient_last} {payment.patient_first}): {why}. The money is held on the payer's "
                       "account until it is matched.", amount_cents=as_cents(payment.paid))
            if not payment.paid:
                return None
            day = payment.service_start
            return Draft(Transaction.INSURANCE_PAYMENT, ledger.CLAIM_PAYMENT_SOURCE, payment.claim_number,
                         [Entry(CASH, payment.paid, day, payment.claim_number),
                          Entry(payer, -payment.paid, day, payment.claim_number)],
                         source_key=f"remit:{key}", memo=f"unmatched payment, claim {payment.claim_number}",
                         posted_by=self.who)
        match = found[0]
        payer_id = match.payer_id or self.payer_of(remittance, "")
        row.claim_id, row.patient_id, row.payer_id = match.claim_id, match.patient_id, payer_id
        day = match.service_date
        secondary = match.is_secondary
        charges, warnings = claim_charges.drafts_for(self.repository, match, payer_id, posted_by=self.who,
                                                     reversed_ids=self.reversed)
        self.drafts += charges
        self.warnings += warnings
        # Each adjustment is a debit with its group and CARC; the account that owed the claim (the payer's, or
        # for a secondary claim the patient's) takes one credit for all.
        entries = [Entry(CASH, payment.paid, day, payment.claim_number)]
        patient_share = Decimal("0.00")
        for adjustment in payment.all_adjustments():
            if secondary and (adjustment.group, adjustment.reason) == PRIOR_PAYER_IMPACT:
                continue
            debit = patient_account(match.patient_id) if adjustment.group == "PR" else ADJUSTMENT_ACCOUNTS[
                adjustment.group]
            if adjustment.group == "PR":
                patient_share += adjustment.amount
            entries.append(Entry(debit, adjustment.amount, day, payment.claim_number, adjustment.group,
                                 adjustment.reason))
        settled = sum((entry.amount for entry in entries), Decimal("0.00"))
        owed_by = patient_account(match.patient_id) if secondary else payer_account(payer_id)
        entries.append(Entry(owed_by, -settled, day, payment.claim_number))
        row.patient_cents = as_cents(patient_share)
        new_status = claim_status.DENIED if _denied(payment, payment, secondary) else (
            claim_status.PARTIALLY_PAID if any(line.charge and _denied(line, payment, secondary) for line in payment.lines)
            else claim_status.PAID)
        self.answer(remittance, payment, row, self.match_lines(remittance, payment, match),
                    self.move_claim(match.claim_id, new_status))
        self.queue_denials(remittance, payment, match)
        if not any(entry.amount for entry in entries):
            return None
        return Draft(Transaction.INSURANCE_PAYMENT, ledger.CLAIM_PAYMENT_SOURCE, payment.claim_number, entries,
                     source_key=f"remit:{key}", memo=f"{remittance.payer_name} {payment.status_text}"[:300],
                     posted_by=self.who)

    def match_lines(self, remittance: Remittance, payment: ClaimPayment, match) -> list[int | None]:
        taken: set[int] = set()
        sequences = []
        for line in payment.lines:
            sequence = matching.match_line(match.claim, line, taken)
            if sequence is None:
                self.queue(WorkItem.UNMATCHED_LINE, remittance, payment,
                           f"Line {line.procedure} charged {line.charge:.2f} (paid {line.paid:.2f}) matches no line "
                           f"of claim {payment.claim_number}.", claim_id=match.claim_id, patient_id=match.patient_id,
                           line=f"{line.procedure} {line.control_number}".strip()[:80],
                           amount_cents=as_cents(line.paid))
            else:
                taken.add(sequence)
            sequences.append(sequence)
        return sequences

    def answer(self, remittance: Remittance, payment: ClaimPayment, row: _ClaimPaymentRow,
               sequences: list[int | None], status: str | None) -> None:
        """The payer's answer to the claim as a ClaimResponse, with the status it gives the claim."""
        response = resources.claim_response(remittance, payment, claim_id=row.claim_id, patient_id=row.patient_id,
                                            payer_id=row.payer_id, line_sequences=sequences, claim_status=status,
                                            created=self.created)
        response_id = resources.stable_id("claim-response", row.payer_key, row.trace_number, row.claim_number,
                                          row.status_code, str(row.occurrence))
        self.responses.append((response, response_id))
        row.claim_response_id = response_id

    def store_responses(self) -> None:
        for response, response_id in self.responses:
            self.repository.create(response, logical_id=response_id)

    def queue_denials(self, remittance: Remittance, payment: ClaimPayment, match) -> None:
        secondary = match.is_secondary
        denied = [(None, payment)] if payment.charge and _denied(payment, payment, secondary) else []
        denied += [(line, line) for line in payment.lines
                   if line.charge and payment.paid and _denied(line, payment, secondary)]
        for line, source in denied:
            adjustments = _denial_adjustments(source.adjustments or payment.all_adjustments(), secondary)
            main = max(adjustments, key=lambda a: a.amount, default=None)
            reason = main.reason if main else ""
            what = f"line {line.procedure}" if line else f"claim {payment.claim_number}"
            self.queue(WorkItem.DENIAL, remittance, payment,
                       f"{what} denied: {denials.describe(reason) if reason else 'no reason given'}.",
                       claim_id=match.claim_id, patient_id=match.patient_id, group_code=main.group if main else "",
                       reason_code=reason, remarks=" ".join(payment.remarks + (line.remarks if line else []))[:200],
                       line=(line.procedure if line else "")[:80], amount_cents=as_cents(source.charge))

    def learn_statuses(self, claims: list[dict]) -> None:
        fresh = [claim for claim in claims if claim["id"] not in self.statuses]
        if fresh:
            self.statuses.update(claim_status.current_statuses(fresh))

    def move_claim(self, claim_id: str, new_status: str) -> str | None:
        """The status the answer gives the claim, or None when the lifecycle does not allow the move."""
        current = self.statuses[claim_id]
        if current != new_status and not claim_status.can_move(current, new_status):
            self.warnings.append(f"Claim/{claim_id} is {claim_status.LABELS[current].lower()}; "
                                 f"it was not marked {claim_status.LABELS[new_status].lower()}")
            return None
        self.statuses[claim_id] = new_status
        return new_status


def _denial_adjustments(adjustments: list, secondary: bool) -> list:
    """The adjustments a payer declines to pay with: not the patient's share, nor on a secondary claim the
    prior payer's adjudication restated (OA-23), which the primary's payment already settled."""
    return [a for a in adjustments if a.group != "PR" and not (secondary and (a.group, a.reason) == PRIOR_PAYER_IMPACT)]


def _denied(source, payment: ClaimPayment, secondary: bool) -> bool:
    """Nothing paid on the claim or line (`source`) for a reason of the payer's own."""
    if source.paid:
        return False
    return not secondary or bool(_denial_adjustments(source.adjustments or payment.all_adjustments(), secondary))


_CLAIM_PAYMENT_COLUMNS = ("file_id", "payer_key", "trace_number", "claim_number", "status_code", "occurrence",
                          "claim_id", "patient_id", "payer_id", "charge_cents", "paid_cents", "patient_cents",
                          "transaction_id", "claim_response_id")


def _insert_claim_payments(rows: list[_ClaimPaymentRow]) -> None:
    """One plain row per claim payment: compiling ten thousand model inserts cost more than storing them."""
    bulk.insert_rows(PostedClaimPayment._meta.db_table, _CLAIM_PAYMENT_COLUMNS,
                     [tuple(getattr(row, column) for column in _CLAIM_PAYMENT_COLUMNS) for row in rows])


def post_remittance(context: Context, content: bytes | str, *, name: str = "remittance.835",
                    source: str = "upload") -> PostingResult:
    """Post an 835 file; see the module docstring. Bad input raises InvalidRequest and posts nothing."""
    ledger.require_posting(context)
    with collector.paused():
        return _post(context, content, name, source)


def _post(context: Context, content: bytes | str, name: str, source: str) -> PostingResult:
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    checksum = hashlib.sha256(data).hexdigest()
    earlier = RemittanceFile.objects.filter(checksum=checksum).first()
    if earlier is not None:
        return PostingResult(earlier, already_posted=True, claims_skipped=earlier.claims_posted)
    try:
        remittances = parse_835(data)
    except X12Error as error:
        raise InvalidRequest.single(f"{name} cannot be posted: {error}", expression="file") from None
    who = context.user_name or audit.actor_name(context)
    warnings = [w for r in remittances for w in r.warnings]
    repository = Repository(context)
    with transaction.atomic():
        file = RemittanceFile.objects.create(
            checksum=checksum, name=name[:200], source=source[:60], content=data.decode("utf-8", "replace"),
            payer_name=remittances[0].payer_name[:200], posted_by=who[:150],
            trace_numbers=", ".join(r.trace_number for r in remittances)[:300],
            total_cents=sum(as_cents(r.total) for r in remittances))
        with repository.atomic():
            plan = _Plan(repository, file, remittances, who)
            for remittance in remittances:
                plan.add(remittance)
            WorkItem.objects.bulk_create(plan.items, batch_size=1000)
            # The ledger's rows and their key checks go to the database without waiting for it, which works on
            # them while the ClaimResponses are checked and indexed here; those are written when this block ends.
            with bulk.pipelined():
                transactions = ledger.post_many_ids(plan.drafts)
                by_draft = {id(draft): tx for draft, tx in zip(plan.drafts, transactions, strict=True)}
                rows = []
                for row, draft in plan.rows:
                    row.transaction_id = by_draft.get(id(draft)) if draft is not None else None
                    rows.append(row)
                _insert_claim_payments(rows)
                bulk.check_foreign_keys()
                plan.store_responses()
        warnings += plan.warnings
        file.claims_posted, file.claims_skipped, file.items_queued = len(rows), plan.skipped, len(plan.items)
        file.warnings = "\n".join(warnings)
        file.save(update_fields=["claims_posted", "claims_skipped", "items_queued", "warnings"])
        audit.record(context, "create", resource_type="RemittanceFile", resource_ids=[str(file.pk)],
                     detail={"name": file.name, "traces": file.trace_numbers, "claims": len(rows),
                             "queued": len(plan.items)})
    return PostingResult(file, claims_posted=len(rows), claims_skipped=plan.skipped, queued=len(plan.items),
                         warnings=warnings)
