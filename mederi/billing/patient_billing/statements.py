"""Patient statements: what the patient owes and why, as a PDF kept in the record.

`statement_data` gathers one patient's statement from the record (practice, guarantor, claims)
and the ledger (per claim: charges, insurance paid, adjustments and the patient's share; the
account's other movements: payments, refunds, write-offs; aging of the balance). A statement
tells what changed since the patient's previous one: it opens with that statement's balance
(what the ledger held when it was made), lists the visits the ledger moved on since then or still
waiting for insurance, and the payments and other activity posted since; the previous balance
plus that activity is the balance due. `issue_statement`
draws the PDF and writes it into the record as an Invoice (status issued, one line per visit,
`totalNet` = the balance due, the PDF in the `urn:mederi:statement-pdf` extension as an
Attachment), indexed by a `Statement` row; the PDF is read back from the Invoice to download it
again. A statement run (`start_run`, then the `make_statements_run` job) does this for every
patient whose balance is at least the minimum, counting progress for the page (or the CLI) to show.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Sum

from mederi.billing import claim_status, practice
from mederi.billing.claims.selectors import person_name
from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import Account, Posting, as_cents, as_money
from mederi.billing.models import ControlNumber
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.fhir.repository import Repository

from .models import Instalment, PaymentPlan, Statement, StatementRun

ZERO = Decimal("0.00")
PDF_EXTENSION = "urn:mederi:statement-pdf"
NUMBER_SYSTEM = "urn:mederi:statement-number"
PERMISSION = "financial.write"
DUE_DAYS = 30  # the statement asks for payment within this many days
UNBILLED = (claim_status.DRAFT, claim_status.SCRUBBED)


@dataclass
class Address:
    name: str
    lines: list[str]


@dataclass
class Visit:
    service_date: str
    claim_number: str
    description: str
    charges: Decimal
    insurance_paid: Decimal
    adjustments: Decimal
    patient_share: Decimal
    status: str  # "Insurance paid", "Waiting for insurance", ...

    @property
    def with_insurance(self) -> Decimal:
        return self.charges - self.insurance_paid - self.adjustments - self.patient_share


@dataclass
class Activity:
    day: dt.date
    description: str
    amount: Decimal  # positive raises what is owed, a payment is negative


@dataclass
class StatementData:
    patient_id: str
    patient_name: str
    account_number: str
    statement_date: dt.date
    practice: Address
    practice_phone: str
    recipient: Address
    visits: list[Visit]
    activity: list[Activity]
    balance: Decimal
    aging: list[tuple[str, Decimal]]
    plan: str = ""  # the payment plan's next instalment, in words
    number: str = ""
    previous_number: str = ""  # the patient's previous statement, whose balance this one starts from
    previous_date: dt.date | None = None
    previous_balance: Decimal = ZERO
    new_charges: Decimal = ZERO  # since the previous statement: the patient's share of visits, net of changes
    payments_and_credits: Decimal = ZERO  # since the previous statement: everything else (negative lowers it)
    how_to_pay: list[str] = field(default_factory=list)

    @property
    def due_by(self) -> dt.date:
        return self.statement_date + dt.timedelta(days=DUE_DAYS)


def _address_lines(resource: dict) -> list[str]:
    address = (resource.get("address") or [{}])[0]
    postal = address.get("postalCode", "")
    if len(postal) == 9 and postal.isdigit():  # ZIP+4 as stored for claims
        postal = f"{postal[:5]}-{postal[5:]}"
    city = address.get("city", "")
    place = " ".join(part for part in (f"{city}," if city else "", address.get("state", ""), postal) if part)
    return [line for line in [*(address.get("line") or []), place.rstrip(",")] if line]


def _phone(resource: dict) -> str:
    return next((t.get("value", "") for t in resource.get("telecom") or () if t.get("system") == "phone"), "")


def _practice(repository: Repository) -> tuple[Address, str]:
    found = repository.search("Organization", [("type", f"{systems.ORGANIZATION_TYPE}|prov"), ("_sort", "_id")],
                              first_page_only=True).matches
    if not found:
        return Address("Our practice", []), ""
    organization = found[0].as_dict()
    return Address(organization.get("name", ""), _address_lines(organization)), _phone(organization)


def _recipient(repository: Repository, patient: dict) -> Address:
    """The guarantor (a RelatedPerson with the GUAR role) when there is one, else the patient."""
    for stored in repository.search("RelatedPerson", [("patient", f"Patient/{patient['id']}")],
                                    first_page_only=True).matches:
        person = stored.as_dict()
        if any(c.get("code") == "GUAR" for r in person.get("relationship") or () for c in r.get("coding") or ()):
            return Address(person_name(person), _address_lines(person) or _address_lines(patient))
    return Address(person_name(patient), _address_lines(patient))


def _sums_by_claim(numbers: list[str], patient_key: str) -> tuple[dict[str, dict[str, int]], dict[str, dt.datetime]]:
    """Cents per claim number and kind of account (the patient's own account as "patient"), and when
    each claim's last posting was made."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    latest: dict[str, dt.datetime] = {}
    if not numbers:
        return sums, latest
    rows = (Posting.objects.filter(claim_number__in=numbers).values("claim_number", "account__kind", "account__key")
            .annotate(cents=Sum("amount_cents"), latest=Max("transaction__posted_at")).order_by())
    for row in rows:
        kind, number = row["account__kind"], row["claim_number"]
        if kind == Account.PATIENT and row["account__key"] != patient_key:
            continue
        sums[number][kind] += row["cents"]
        latest[number] = max(latest.get(number, row["latest"]), row["latest"])
    return sums, latest


def _codes_in_words(codes: list[str]) -> str:
    """The visit's procedure codes, at most three, so the statement's column stays readable."""
    if not codes:
        return "Visit"
    return "Visit: " + ", ".join(codes[:3]) + (f" +{len(codes) - 3} more" if len(codes) > 3 else "")


def _visits(repository: Repository, patient_id: str, patient_key: str, since: dt.datetime | None) -> list[Visit]:
    """The billed visits; after a previous statement (`since`), those the ledger moved on since then
    and those insurance has not answered yet."""
    claims = [s.as_dict() for s in repository.search("Claim", [("patient", f"Patient/{patient_id}"),
                                                                 ("_count", "200")]).matches]
    claims = [c for c in claims if c.get("status") == "active" and claim_status.claim_number(c)]
    sums, latest = _sums_by_claim([claim_status.claim_number(c) for c in claims], patient_key)
    visits = []
    for claim in claims:
        number, status = claim_status.claim_number(claim), claim_status.status_of(claim)
        moved = sums.get(number)
        if status in UNBILLED and not moved:
            continue
        moved = moved or {}
        processed = Account.CASH in moved or Account.CONTRACTUAL in moved
        if since is not None and processed and latest.get(number, since) <= since:
            continue  # settled on an earlier statement
        charges = as_money(-moved.get(Account.REVENUE, 0)) if Account.REVENUE in moved \
            else Decimal(str(claim["total"]["value"])).quantize(Decimal("0.01"))
        codes = [c.get("code", "") for item in claim.get("item") or ()
                 for c in (item.get("productOrService") or {}).get("coding") or ()]
        paid = as_money(moved.get(Account.CASH, 0))
        visits.append(Visit(
            (claim.get("billablePeriod") or {}).get("start", "")[:10], number,
            _codes_in_words(codes), charges, paid,
            as_money(sum(moved.get(k, 0) for k in (Account.CONTRACTUAL, Account.OTHER_ADJUSTMENT, Account.WRITE_OFF))),
            as_money(moved.get(Account.PATIENT, 0)),
            "Processed by insurance" if processed else claim_status.LABELS[status] + ": waiting for insurance"))
    visits.sort(key=lambda v: (v.service_date, v.claim_number))
    return visits


def _activity(patient_key: str, claim_numbers: set[str], since: dt.datetime | None) -> list[Activity]:
    """The account's movements not shown with a visit (payments, refunds, write-offs, credits), those
    posted after `since` when there was a previous statement."""
    postings = Posting.objects.filter(account__key=patient_key)
    if since is not None:
        postings = postings.filter(transaction__posted_at__gt=since)
    postings = postings.select_related("transaction").order_by("transaction__effective_date", "transaction_id", "pk")
    lines = []
    for posting in postings:
        if posting.claim_number and posting.claim_number in claim_numbers:
            continue
        tx = posting.transaction
        words = tx.get_kind_display()
        if tx.memo:
            words += f": {tx.memo}"
        lines.append(Activity(tx.effective_date, words, posting.amount))
    return lines


def _aging(patient_key: str, as_of: dt.date) -> list[tuple[str, Decimal]]:
    """The balance by the age of the date of service (the ledger's buckets)."""
    cents = defaultdict(int)
    for row in (Posting.objects.filter(account__key=patient_key, service_date__lte=as_of).values("service_date")
                .annotate(cents=Sum("amount_cents")).order_by()):
        age = (as_of - row["service_date"]).days
        label = next(label for label, low, high in ledger_selectors.BUCKETS if high is None or age <= high)
        cents[label] += row["cents"]
    return [(label, as_money(cents[label])) for label, _, _ in ledger_selectors.BUCKETS]


def _plan_words(patient_id: str) -> str:
    plan = PaymentPlan.objects.filter(patient_id=patient_id, status=PaymentPlan.ACTIVE).first()
    if plan is None:
        return ""
    upcoming = plan.instalments.exclude(status=Instalment.PAID).order_by("number").first()
    if upcoming is None:
        return ""
    return (f"Payment plan: {upcoming.amount} will be charged to {plan.card.brand.title()} ending "
            f"{plan.card.last4} on {upcoming.due:%B %d, %Y} (instalment {upcoming.number} of "
            f"{plan.instalments.count()}).")


def _movements(patient_key: str, since: dt.datetime | None) -> tuple[Decimal, Decimal, Decimal]:
    """(balance at `since`, visits' shares posted after it, other postings after it): together the balance."""
    before = visits = other = 0
    for row in Posting.objects.filter(account__key=patient_key).values("claim_number", "transaction__posted_at",
                                                                        "amount_cents").order_by():
        if since is not None and row["transaction__posted_at"] <= since:
            before += row["amount_cents"]
        elif row["claim_number"]:
            visits += row["amount_cents"]
        else:
            other += row["amount_cents"]
    return as_money(before), as_money(visits), as_money(other)


def statement_data(context: Context, patient_id: str, statement_date: dt.date | None = None) -> StatementData:
    repository = Repository(context)
    patient = repository.read("Patient", patient_id).as_dict()
    key = ledger.patient_account(patient_id)
    practice_address, phone = _practice(repository)
    previous = Statement.objects.filter(patient_id=patient_id).order_by("-created", "-pk").first()
    since = previous.created if previous else None
    visits = _visits(repository, patient_id, key, since)
    statement_date = statement_date or practice.today()
    mrn = next((i.get("value", "") for i in patient.get("identifier") or ()
                if any(c.get("code") == "MR" for c in (i.get("type") or {}).get("coding") or ())), "")
    data = StatementData(
        patient_id, person_name(patient), mrn or patient_id, statement_date, practice_address, phone,
        _recipient(repository, patient), visits, _activity(key, {v.claim_number for v in visits}, since),
        ledger_selectors.balance_of(key), _aging(key, statement_date), _plan_words(patient_id))
    data.previous_balance, data.new_charges, data.payments_and_credits = _movements(key, since)
    if previous is not None:
        data.previous_number, data.previous_date = previous.number, previous.statement_date
    data.how_to_pay = [
        "At the front desk: cash, check or card.",
        f"By phone with a card: call {phone}." if phone else "By phone with a card: call the front desk.",
        f"By mail: a check payable to {practice_address.name}, with your account number {data.account_number}, to "
        + ", ".join(practice_address.lines) + "." if practice_address.lines else "",
        "Cannot pay it all at once? Ask us about a monthly payment plan.",
    ]
    data.how_to_pay = [line for line in data.how_to_pay if line]
    return data


def _money(amount: Decimal) -> dict:
    return {"value": float(amount), "currency": "USD"}


def _invoice(data: StatementData, pdf: bytes, practice_id: str) -> dict:
    recipient = data.recipient
    invoice = {
        "resourceType": "Invoice",
        "status": "issued",
        "identifier": [{"system": NUMBER_SYSTEM, "value": data.number}],
        "type": {"text": "Patient statement"},
        "subject": {"reference": f"Patient/{data.patient_id}"},
        "recipient": {"display": recipient.name},
        "date": clock.now().isoformat(timespec="seconds"),
        "lineItem": [{"sequence": index + 1,
                      "chargeItemCodeableConcept": {"text": f"{visit.service_date} claim {visit.claim_number}: "
                                                            f"{visit.description}"},
                      "priceComponent": [{"type": "base", "amount": _money(visit.charges)},
                                         {"type": "deduction", "code": {"text": "insurance paid and adjustments"},
                                          "amount": _money(visit.insurance_paid + visit.adjustments)}]}
                     for index, visit in enumerate(data.visits)],
        "totalNet": _money(data.balance),
        "totalGross": _money(data.balance),
        "paymentTerms": f"Due by {data.due_by.isoformat()}. " + " ".join(data.how_to_pay),
        "extension": [{"url": PDF_EXTENSION, "valueAttachment": {
            "contentType": "application/pdf", "data": base64.b64encode(pdf).decode(), "size": len(pdf),
            "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode(),  # noqa: S324 (FHIR's Attachment.hash is SHA-1)
            "title": f"statement-{data.number}.pdf", "creation": clock.now().isoformat(timespec="seconds")}}],
    }
    if not invoice["lineItem"]:  # only payments and adjustments on the account
        del invoice["lineItem"]
    if practice_id:
        invoice["issuer"] = {"reference": f"Organization/{practice_id}"}
    return invoice


def issue_statement(context: Context, patient_id: str, statement_date: dt.date | None = None,
                    run: StatementRun | None = None) -> Statement:
    """Make the patient's statement now, keep it in the record, and index it."""
    from .pdf import statement_pdf

    context.require(PERMISSION, "your roles do not allow issuing patient statements")
    data = statement_data(context, patient_id, statement_date)
    repository = Repository(context)
    practice_found = repository.search("Organization", [("type", f"{systems.ORGANIZATION_TYPE}|prov"),
                                                        ("_sort", "_id")], first_page_only=True).matches
    with transaction.atomic():
        data.number = f"S{data.statement_date:%y%m%d}-{ControlNumber.next('statement'):06d}"
        pdf = statement_pdf(data)
        stored = repository.create(_invoice(data, pdf, practice_found[0].logical_id if practice_found else ""))
        return Statement.objects.create(number=data.number, patient_id=patient_id, invoice_id=stored.stored.logical_id,
                                        statement_date=data.statement_date, balance_cents=as_cents(data.balance),
                                        run=run, created_by=context.user_name or "system")


def statement_pdf_of(context: Context, number: str) -> tuple[str, bytes]:
    """(file name, PDF bytes) of an issued statement, read back from its Invoice (the read is audited)."""
    statement = Statement.objects.filter(number=number).first()
    if statement is None:
        raise InvalidRequest.single(f"there is no statement {number}")
    invoice = Repository(context).read("Invoice", statement.invoice_id).as_dict()
    attachment = next(e["valueAttachment"] for e in invoice.get("extension", ()) if e.get("url") == PDF_EXTENSION)
    return attachment.get("title") or f"statement-{number}.pdf", base64.b64decode(attachment["data"])


def patients_owing(minimum: Decimal = Decimal("1.00")) -> list[str]:
    """Patients whose account balance is at least `minimum`, largest balance first."""
    return list(Account.objects.filter(kind=Account.PATIENT, balance_cents__gte=as_cents(minimum))
                .order_by("-balance_cents", "party_id").values_list("party_id", flat=True))


def start_run(context: Context, minimum, statement_date: dt.date | None = None, *, queue: bool = True) -> StatementRun:
    """Record a run for every patient owing at least `minimum`; the job makes them (or the caller, when not `queue`)."""
    from mederi.billing.payments import parse_amount

    context.require(PERMISSION, "your roles do not allow issuing patient statements")
    minimum = parse_amount(minimum)
    patients = patients_owing(minimum)
    if not patients:
        raise InvalidRequest.single(f"no patient owes {minimum} or more: there is nothing to send",
                                    expression="minimum")
    run = StatementRun.objects.create(statement_date=statement_date or practice.today(),
                                      minimum_cents=as_cents(minimum), patient_ids=patients, total=len(patients),
                                      started_by=context.user_name or "system")
    if queue:
        from .tasks import make_statements_run

        transaction.on_commit(lambda: make_statements_run(run.pk))
    return run


def make_run(run_id: int, context: Context, progress=None) -> StatementRun:
    """Make the statements of a queued run, one patient at a time; `progress(run)` is told after each."""
    claimed = StatementRun.objects.filter(pk=run_id, state=StatementRun.QUEUED).update(state=StatementRun.RUNNING)
    run = StatementRun.objects.get(pk=run_id)
    if not claimed:
        return run
    for patient_id in run.patient_ids:
        try:
            issue_statement(context, patient_id, run.statement_date, run)
            run.made += 1
        except Exception as error:  # noqa: BLE001 — one patient's problem must not stop the others' statements
            run.problems.append(f"Patient/{patient_id}: {error}"[:300])
        run.done += 1
        run.save(update_fields=["done", "made", "problems"])
        if progress:
            progress(run)
    run.state, run.finished = StatementRun.FINISHED, clock.now()
    run.save(update_fields=["state", "finished"])
    return run


def latest_for(patient_ids: list[str]) -> dict[str, Statement]:
    latest: dict[str, Statement] = {}
    for statement in Statement.objects.filter(patient_id__in=patient_ids).order_by("created", "pk"):
        latest[statement.patient_id] = statement
    return latest
