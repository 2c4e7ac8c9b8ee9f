"""The results inbox: lab reports of a clinician's own orders, waiting for review, abnormal first.

A report is in the inbox while it answers an order (ServiceRequest) the clinician requested and
no one has reviewed it. "Reviewed and signed" names the reviewer as the report's
`resultsInterpreter` (a new version through the repository), which takes it out of the inbox,
and logs a `sign` in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import Conflict, Forbidden
from mederi.fhir.repository import Repository
from mederi.interop.results import ABNORMAL_FLAGS, CRITICAL_FLAGS
from mederi.scheduling import records

PERMISSION = "orders.sign"
HIDDEN_STATUSES = ("cancelled", "entered-in-error")


@dataclass
class ResultLine:
    name: str
    value: str
    flags: list[str]  # interpretation codes (H, L, HH, ...)
    flag_text: str
    reference_range: str
    status: str

    @property
    def abnormal(self) -> bool:
        return any(f in ABNORMAL_FLAGS for f in self.flags)

    @property
    def critical(self) -> bool:
        return any(f in CRITICAL_FLAGS for f in self.flags)


@dataclass
class InboxReport:
    report_id: str
    patient_id: str
    patient_name: str
    title: str
    status: str
    issued: str
    lines: list[ResultLine] = field(default_factory=list)
    reviewed_by: str = ""

    @property
    def abnormal_count(self) -> int:
        return sum(line.abnormal for line in self.lines)

    @property
    def critical(self) -> bool:
        return any(line.critical for line in self.lines)


def _value_text(observation: dict) -> str:
    if quantity := observation.get("valueQuantity"):
        return f"{(quantity.get('comparator') or '')}{quantity.get('value')} {quantity.get('unit') or ''}".strip()
    if "valueString" in observation:
        return observation["valueString"]
    if concept := observation.get("valueCodeableConcept"):
        return concept.get("text") or ", ".join(c.get("display") or c.get("code", "") for c in concept.get("coding", []))
    if span := observation.get("valueRange"):
        return f"{span.get('low', {}).get('value', '')}–{span.get('high', {}).get('value', '')} {span.get('low', {}).get('unit', '')}".strip()
    if ratio := observation.get("valueRatio"):
        return f"{ratio['numerator'].get('value')}:{ratio['denominator'].get('value')}"
    for key in ("valueDateTime", "valueTime"):
        if key in observation:
            return observation[key]
    if components := observation.get("component"):
        return "; ".join(_value_text(c) for c in components)
    return "pending" if observation.get("status") == "registered" else "no value"


def _line(observation: dict) -> ResultLine:
    code = observation.get("code") or {}
    name = code.get("text") or next((c.get("display") or c.get("code") for c in code.get("coding", [])), "Result")
    flags, texts = [], []
    for concept in observation.get("interpretation") or []:
        for coding in concept.get("coding") or []:
            flags.append(coding.get("code", ""))
            texts.append(coding.get("display") or coding.get("code", ""))
        if not concept.get("coding") and concept.get("text"):
            texts.append(concept["text"])
    ranges = "; ".join(r.get("text", "") for r in observation.get("referenceRange") or [])
    return ResultLine(name, _value_text(observation), flags, ", ".join(texts), ranges, observation.get("status", ""))


def _observations(repo: Repository, reports: list[dict]) -> dict[str, dict]:
    ids = [ref["reference"].split("/", 1)[1] for r in reports for ref in r.get("result") or []
           if ref.get("reference", "").startswith("Observation/")]
    found = {}
    for start in range(0, len(ids), 100):
        page = repo.search("Observation", [("_id", ",".join(ids[start:start + 100])), ("_count", "100")],
                           first_page_only=True)
        found.update({m.logical_id: m.as_dict() for m in page.matches})
    return found


def _patient_names(repo: Repository, patient_ids: set[str]) -> dict[str, str]:
    if not patient_ids:
        return {}
    page = repo.search("Patient", [("_id", ",".join(sorted(patient_ids))), ("_count", "200")], first_page_only=True)
    return {m.logical_id: records.person_name(m.as_dict(), m.logical_id) for m in page.matches}


def _views(repo: Repository, reports: list[dict]) -> list[InboxReport]:
    observations = _observations(repo, reports)
    patients = {r["subject"]["reference"].split("/", 1)[1] for r in reports}
    names = _patient_names(repo, patients)
    views = []
    for report in reports:
        patient_id = report["subject"]["reference"].split("/", 1)[1]
        code = report.get("code") or {}
        title = code.get("text") or next((c.get("display") or c.get("code") for c in code.get("coding", [])), "Report")
        lines = [_line(observations[ref["reference"].split("/", 1)[1]]) for ref in report.get("result") or []
                 if ref["reference"].split("/", 1)[1] in observations]
        reviewer = ", ".join(p.get("display", "") for p in report.get("resultsInterpreter") or [])
        views.append(InboxReport(report["id"], patient_id, names.get(patient_id, patient_id), title,
                                 report.get("status", ""), report.get("issued", ""), lines, reviewer))
    return views


def results_inbox(context: Context, practitioner_id: str) -> list[InboxReport]:
    """Unreviewed reports of the practitioner's orders: critical, then abnormal, then the rest; newest first."""
    repo = Repository(context)
    params = [("based-on:ServiceRequest.requester", f"Practitioner/{practitioner_id}"),
              ("results-interpreter:missing", "true"), ("_count", "200"),
              *[("status:not", status) for status in HIDDEN_STATUSES]]
    found = repo.search("DiagnosticReport", params, first_page_only=True).matches
    reports = _views(repo, [m.as_dict() for m in found])
    audit.record(context, "search", resource_type="DiagnosticReport", resource_ids=[f"DiagnosticReport/{r.report_id}"
                 for r in reports], query=f"ui: results inbox of Practitioner/{practitioner_id}")
    reports.sort(key=lambda r: r.issued, reverse=True)
    return sorted(reports, key=lambda r: (not r.critical, r.abnormal_count == 0))


def report(context: Context, report_id: str) -> InboxReport:
    """One report with its values, flags and reference ranges; audited as a read."""
    repo = Repository(context)
    body = repo.read("DiagnosticReport", report_id).as_dict()
    (view,) = _views(repo, [body])
    audit.record(context, "read", patient_id=view.patient_id, resource_type="DiagnosticReport",
                 resource_ids=[f"DiagnosticReport/{report_id}"], query="ui: result review")
    return view


def sign_report(context: Context, report_id: str, practitioner: dict) -> None:
    """Record that `practitioner` (a Reference) reviewed the report; it leaves the inbox."""
    if PERMISSION not in context.permissions:
        raise Forbidden(f"reviewing results needs the permission {PERMISSION}")
    repo = Repository(context)
    with transaction.atomic():
        current = repo.read("DiagnosticReport", report_id)
        body = current.as_dict()
        if body.get("resultsInterpreter"):
            names = ", ".join(p.get("display", "") for p in body["resultsInterpreter"])
            raise Conflict(f"this report was already reviewed by {names}")
        body["resultsInterpreter"] = [practitioner]
        repo.update("DiagnosticReport", report_id, body, if_match=current.version_id)
        audit.record(context, "sign", patient_id=audit.patient_of(body), resource_type="DiagnosticReport",
                     resource_ids=[f"DiagnosticReport/{report_id}"],
                     detail={"reviewed": clock.fhir_instant(clock.now()), "by": practitioner.get("reference", "")})
