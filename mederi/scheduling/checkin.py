"""Check-in: the desk confirms who the patient is and how they are insured, checks eligibility,
takes the copay, hands over the pre-visit questionnaire link, and sends the visit to the
clinician's queue (the appointment's stage becomes "checked-in").

Everything shown comes from the one record: the patient's registration, their coverages, the
payer's latest answer and the payments taken for this visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mederi.billing import payments
from mederi.billing import selectors as billing
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.fhir.repository import Repository
from mederi.patients import selectors as patients
from mederi.scheduling import records, selectors, services


@dataclass
class CheckIn:
    detail: selectors.AppointmentDetail
    chart: patients.PatientChart
    eligibility: dict = field(default_factory=dict)  # coverage id -> EligibilitySummary
    copay_due: Decimal | None = None
    taken: list = field(default_factory=list)  # PatientPayment postings for this visit

    @property
    def checked_in(self) -> bool:
        return self.detail.view.status in ("checked-in", "fulfilled")

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.taken if p.voided_at is None), Decimal("0.00"))

    @property
    def can_check_in(self) -> bool:
        return "check-in" in self.detail.actions


def check_in_page(context: Context, appointment_id: str) -> CheckIn:
    """What the desk sees while checking a patient in (each read audited by its selector)."""
    detail = selectors.appointment_detail(context, appointment_id)
    chart = patients.patient_chart(context, detail.view.patient_id, audit_as=f"ui: check-in {appointment_id}")
    active = [c.id for c in chart.coverages if c.status == "active"]
    eligibility = billing.latest_eligibility(active, context) if active else {}
    # The copay of the primary coverage the payer last confirmed as active.
    copay = next((eligibility[c].copay for c in active if c in eligibility and eligibility[c].active
                  and eligibility[c].copay is not None), None)
    return CheckIn(detail, chart, eligibility, copay, billing.payments_for_appointment(appointment_id))


def take_copay(context: Context, appointment_id: str, amount, method: str, reference: str = ""):
    """The copay for this visit, posted against the appointment's patient."""
    view = records.view_of(Repository(context).read("Appointment", appointment_id).as_dict())
    return payments.collect_payment(context, view.patient_id, amount, method, appointment_id=appointment_id,
                                    reference=reference)


def complete_check_in(context: Context, appointment_id: str, *, confirmed: bool) -> records.AppointmentView:
    """Send the visit to the clinician's queue, once the desk has confirmed the patient's details."""
    if not confirmed:
        raise InvalidRequest.single("confirm the patient's details and insurance with them before checking in",
                                    expression="confirmed")
    return services.check_in(context, appointment_id)
