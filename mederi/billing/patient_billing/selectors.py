"""Reading patient billing for its pages: who owes, a patient's statements, cards, charges and plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import Account
from mederi.core.context import Context

from .models import CardCharge, Instalment, PaymentPlan, Statement, StatementRun, StoredCard


@dataclass
class Owing:
    patient_id: str
    name: str
    balance: Decimal
    last_statement: Statement | None


def patients_owing(context: Context, limit: int = 200) -> list[Owing]:
    accounts = list(Account.objects.filter(kind=Account.PATIENT, balance_cents__gt=0)
                    .order_by("-balance_cents", "party_id")[:limit])
    ids = [a.party_id for a in accounts]
    names = ledger_selectors.party_names(context, "Patient", ids)
    latest: dict[str, Statement] = {}
    for statement in Statement.objects.filter(patient_id__in=ids).order_by("created", "pk"):
        latest[statement.patient_id] = statement
    return [Owing(a.party_id, names.get(a.party_id, a.party_id), a.balance, latest.get(a.party_id))
            for a in accounts if a.party_id in names]  # patients the person may not see are left out


def recent_runs(limit: int = 5) -> list[StatementRun]:
    return list(StatementRun.objects.order_by("-created", "-pk")[:limit])


@dataclass
class PatientBilling:
    patient_id: str
    name: str
    balance: Decimal
    statements: list[Statement]
    cards: list[StoredCard]
    charges: list[CardCharge]
    plan: PaymentPlan | None
    instalments: list[Instalment] = field(default_factory=list)
    past_plans: list[PaymentPlan] = field(default_factory=list)

    @property
    def missed(self) -> list[Instalment]:
        return [i for i in self.instalments if i.status == Instalment.MISSED]


def patient_billing(context: Context, patient_id: str) -> PatientBilling:
    from mederi.billing.claims.selectors import person_name
    from mederi.fhir.repository import Repository

    patient = Repository(context).read("Patient", patient_id).as_dict()  # may this person see it (audited)
    plans = list(PaymentPlan.objects.filter(patient_id=patient_id).select_related("card").order_by("-created", "-pk"))
    active = next((p for p in plans if p.status == PaymentPlan.ACTIVE), None)
    return PatientBilling(
        patient_id, person_name(patient), ledger_selectors.balance_of(ledger.patient_account(patient_id)),
        list(Statement.objects.filter(patient_id=patient_id)[:20]),
        list(StoredCard.objects.filter(patient_id=patient_id, active=True).order_by("-created")),
        list(CardCharge.objects.filter(patient_id=patient_id).order_by("-created", "-pk")[:20]),
        active, list(active.instalments.all()) if active else [], [p for p in plans if p is not active])


@dataclass
class PlanRow:
    plan: PaymentPlan
    name: str
    paid: Decimal
    next_due: Instalment | None
    missed: int


def plans(context: Context) -> list[PlanRow]:
    """Active plans, those with a missed instalment first."""
    active = list(PaymentPlan.objects.filter(status=PaymentPlan.ACTIVE).select_related("card")
                  .prefetch_related("instalments").order_by("created", "pk"))
    names = ledger_selectors.party_names(context, "Patient", [p.patient_id for p in active])
    rows = []
    for plan in active:
        if plan.patient_id not in names:
            continue
        instalments = list(plan.instalments.all())
        rows.append(PlanRow(plan, names[plan.patient_id],
                            sum((i.amount for i in instalments if i.status == Instalment.PAID), Decimal("0.00")),
                            next((i for i in instalments if i.status != Instalment.PAID), None),
                            sum(1 for i in instalments if i.status == Instalment.MISSED)))
    rows.sort(key=lambda row: (-row.missed, row.name))
    return rows
