"""Reads of billing: the payer directory, the newest eligibility answer per coverage, and failed checks.

Eligibility answers are read from the stored CoverageEligibilityResponses. The `EligibilityCheck`
index finds which response is the newest for each coverage (one query for a whole day's
schedule), then one repository search per 200 responses loads them, with the caller's access
applied. Pass the `context` of the person looking: their access decides what they see, and the
read is written to the audit log. Without one the server reads for itself (jobs), unaudited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max

from mederi.audit import services as audit
from mederi.billing.eligibility_resources import EligibilitySummary, summary_of
from mederi.billing.models import EligibilityCheck, PayerConnection
from mederi.billing.services import PAYER_TYPE, PayerDetails
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, NotFound
from mederi.fhir.repository import Repository

CHUNK = 200


def _repository(context: Context | None) -> Repository:
    return Repository(context or Context.system("eligibility-status"))


def _responses(repository: Repository, response_ids: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(response_ids), CHUNK):
        chunk = response_ids[start:start + CHUNK]
        result = repository.search("CoverageEligibilityResponse",
                                   [("_id", ",".join(chunk)), ("_count", str(len(chunk))), ("_total", "none")])
        for stored in result.matches:
            found[stored.logical_id] = stored.as_dict()
    return found


def _audit(context: Context | None, checks: Iterable[EligibilityCheck], shown: dict[str, dict], query: str) -> None:
    if context is None or context.is_system:
        return
    by_patient: dict[str, list[str]] = {}
    for check in checks:
        if check.response_id in shown:
            by_patient.setdefault(check.patient_id, []).append(f"CoverageEligibilityResponse/{check.response_id}")
    audit.record_many(context, [
        audit.Event("search", patient_id=patient_id, resource_type="CoverageEligibilityResponse",
                    resource_ids=references, query=query)
        for patient_id, references in by_patient.items()
    ])


def latest_eligibility(coverage_ids: Iterable[str], context: Context | None = None) -> dict[str, EligibilitySummary]:
    """{coverage id: summary of its newest eligibility answer}; coverages never checked are left out."""
    wanted = list(dict.fromkeys(c for c in coverage_ids if c))
    if not wanted:
        return {}
    checks: list[EligibilityCheck] = []
    for start in range(0, len(wanted), 500):
        newest = (EligibilityCheck.objects.filter(coverage_id__in=wanted[start:start + 500])
                  .values("coverage_id").annotate(last=Max("id")).values("last"))
        checks += EligibilityCheck.objects.filter(id__in=newest)
    responses = _responses(_repository(context), [check.response_id for check in checks])
    _audit(context, checks, responses, "ui: latest eligibility status")
    return {check.coverage_id: summary_of(responses[check.response_id])
            for check in checks if check.response_id in responses}


def eligibility_failures(date_from: dt.date, date_to: dt.date, context: Context | None = None,
                         ) -> list[EligibilitySummary]:
    """Every check from `date_from` to `date_to` (practice days, both included) that found a problem:
    coverage not active, rejected by the payer, or no usable answer; oldest first."""
    if date_to < date_from:
        raise InvalidRequest.single(f"the period ends ({date_to}) before it starts ({date_from})",
                                    expression="date_to")
    checks = list(EligibilityCheck.objects.filter(checked_on__gte=date_from, checked_on__lte=date_to,
                                                  status__in=EligibilityCheck.PROBLEMS).order_by("checked_at", "id"))
    responses = _responses(_repository(context), [check.response_id for check in checks])
    _audit(context, checks, responses, f"report: eligibility failures {date_from}..{date_to}")
    return [summary_of(responses[check.response_id]) for check in checks if check.response_id in responses]


# -- the payer directory -------------------------------------------------------------------------


@dataclass(frozen=True)
class PayerRow:
    organization_id: str
    name: str
    payer_id: str
    transport: str  # "" when no connection is set up
    transport_label: str
    active: bool


def _payer_id_of(organization: dict) -> str:
    for identifier in organization.get("identifier") or ():
        if identifier.get("system") == systems.PAYER_ID:
            return identifier.get("value") or ""
    return ""


def payers(context: Context) -> list[PayerRow]:
    """The payer Organizations (type pay), by name, with their X12 payer id and how they are reached."""
    result = Repository(context).search("Organization", [("type", f"{systems.ORGANIZATION_TYPE}|{PAYER_TYPE}"),
                                                         ("_sort", "name"), ("_count", "1000")])
    connections = {c.organization_id: c for c in PayerConnection.objects.filter(
        organization_id__in=[s.logical_id for s in result.matches])}
    rows = []
    for stored in result.matches:
        organization = stored.as_dict()
        connection = connections.get(stored.logical_id)
        rows.append(PayerRow(
            organization_id=stored.logical_id,
            name=organization.get("name") or stored.logical_id,
            payer_id=_payer_id_of(organization),
            transport=connection.transport if connection else "",
            transport_label=connection.get_transport_display() if connection else "Not set up",
            active=bool(connection and connection.active),
        ))
    return sorted(rows, key=lambda row: row.name.lower())


def payer(context: Context, organization_id: str) -> tuple[PayerDetails, PayerConnection | None]:
    """A payer's details as the directory edits them, and its routing (None when not set up).

    Raises NotFound when the Organization does not exist or is not a payer (type pay).
    """
    organization = Repository(context).read("Organization", organization_id).as_dict()
    if not is_payer(organization):
        raise NotFound(f"Organization/{organization_id} is not a payer")
    address = (organization.get("address") or [{}])[0]
    phone = next((t.get("value", "") for t in organization.get("telecom") or () if t.get("system") == "phone"), "")
    details = PayerDetails(
        name=organization.get("name", ""),
        payer_id=_payer_id_of(organization),
        address_line=(address.get("line") or [""])[0],
        city=address.get("city", ""),
        state=address.get("state", ""),
        postal_code=address.get("postalCode", ""),
        phone=phone,
    )
    return details, PayerConnection.objects.filter(organization_id=organization_id).first()


def is_payer(organization: dict) -> bool:
    return any(c.get("system") == systems.ORGANIZATION_TYPE and c.get("code") == PAYER_TYPE
               for t in organization.get("type") or () for c in t.get("coding") or ())


def payments_for_appointment(appointment_id: str):
    """Money taken for one visit, oldest first (voided postings included, marked as such)."""
    from mederi.billing.models import PatientPayment

    return list(PatientPayment.objects.filter(appointment_id=appointment_id).order_by("received_at"))
