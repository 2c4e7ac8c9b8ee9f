"""What the preventive rules and the measures look at in one patient's record, read in a few
indexed searches (each limited to the codes of codes.csv) and audited once.

A `Finding` is one dated entry — an Observation, Procedure, DiagnosticReport, Immunization or
Condition — with the code sets it belongs to. Entries that did not happen (entered in error,
cancelled, not done) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from mederi.audit import services as audit
from mederi.clinical.preventive.codes import sets_of, tokens
from mederi.core.context import Context
from mederi.fhir.repository import Repository

SCAN = 300  # newest entries of each kind looked at
NOT_DONE = {"entered-in-error", "cancelled", "not-done", "stopped", "unknown", "preliminary", "registered"}
ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
BP_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"


@dataclass(frozen=True)
class Finding:
    kind: str  # the resource type
    reference: str
    sets: frozenset[str]
    on: date | None  # when it happened (a Condition: its onset, else when it was recorded)
    label: str
    value: Decimal | None = None  # a numeric result (HbA1c %, BMI ...)
    value_sets: frozenset[str] = frozenset()  # the sets of a coded result (smoking status answers)
    systolic: Decimal | None = None
    diastolic: Decimal | None = None
    active: bool = True  # Conditions: active (not resolved)


@dataclass
class PatientRecord:
    patient_id: str
    birth_date: date | None
    sex: str  # FHIR administrative gender
    findings: list[Finding] = field(default_factory=list)
    drug_classes: set[str] = field(default_factory=set)  # classes of the active medications (knowledge base)
    drug_names: list[str] = field(default_factory=list)

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def of(self, set_name: str, *, until: date | None = None, since: date | None = None) -> list[Finding]:
        """Findings in a set, newest first, optionally on or before `until` and on or after `since`."""
        found = [f for f in self.findings if set_name in f.sets and f.on is not None
                 and (until is None or f.on <= until) and (since is None or f.on >= since)]
        return sorted(found, key=lambda f: f.on, reverse=True)

    def latest(self, set_name: str, **bounds) -> Finding | None:
        found = self.of(set_name, **bounds)
        return found[0] if found else None

    def has_condition(self, set_name: str, until: date | None = None) -> Finding | None:
        """An active Condition (or a Procedure, e.g. a hysterectomy) in the set, on or before `until`."""
        for finding in self.findings:
            if set_name in finding.sets and finding.kind in ("Condition", "Procedure") and finding.active \
                    and (until is None or finding.on is None or finding.on <= until):
                return finding
        return None


def _day(value: str | None) -> date | None:
    if not value or len(value) < 10:
        return date(int(value[:4]), 1, 1) if value and len(value) >= 4 and value[:4].isdigit() else None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _decimal(quantity: dict | None) -> Decimal | None:
    try:
        return Decimal(str((quantity or {}).get("value")))
    except (InvalidOperation, ValueError):
        return None


def _words(concept: dict | None) -> str:
    concept = concept or {}
    return concept.get("text") or next((c.get("display") or c.get("code") for c in concept.get("coding") or ()
                                        if c.get("display") or c.get("code")), "")


def _observation(reference: str, o: dict) -> Finding | None:
    if o.get("status") in NOT_DONE:
        return None
    on = _day(o.get("effectiveDateTime") or (o.get("effectivePeriod") or {}).get("start") or o.get("issued"))
    systolic = diastolic = None
    for component in o.get("component") or ():
        codes = {c.get("code") for c in (component.get("code") or {}).get("coding") or ()}
        if SYSTOLIC in codes:
            systolic = _decimal(component.get("valueQuantity"))
        elif DIASTOLIC in codes:
            diastolic = _decimal(component.get("valueQuantity"))
    return Finding("Observation", reference, sets_of(o.get("code")), on, _words(o.get("code")),
                   _decimal(o.get("valueQuantity")), sets_of(o.get("valueCodeableConcept")), systolic, diastolic)


def _procedure(reference: str, p: dict) -> Finding | None:
    if p.get("status") in NOT_DONE or p.get("status") not in (None, "completed", "in-progress"):
        return None
    on = _day(p.get("performedDateTime") or (p.get("performedPeriod") or {}).get("start"))
    return Finding("Procedure", reference, sets_of(p.get("code")), on, _words(p.get("code")))


def _report(reference: str, r: dict) -> Finding | None:
    if r.get("status") not in ("final", "amended", "corrected", "appended"):
        return None
    on = _day(r.get("effectiveDateTime") or (r.get("effectivePeriod") or {}).get("start") or r.get("issued"))
    return Finding("DiagnosticReport", reference, sets_of(r.get("code")), on, _words(r.get("code")))


def _immunization(reference: str, i: dict) -> Finding | None:
    if i.get("status") != "completed":
        return None
    return Finding("Immunization", reference, sets_of(i.get("vaccineCode")), _day(i.get("occurrenceDateTime")),
                   _words(i.get("vaccineCode")))


def _condition(reference: str, c: dict) -> Finding | None:
    verification = {x.get("code") for x in (c.get("verificationStatus") or {}).get("coding") or ()}
    if verification & {"refuted", "entered-in-error"}:
        return None
    clinical = {x.get("code") for x in (c.get("clinicalStatus") or {}).get("coding") or ()}
    on = _day(c.get("onsetDateTime") or (c.get("onsetPeriod") or {}).get("start") or c.get("recordedDate"))
    return Finding("Condition", reference, sets_of(c.get("code")), on, _words(c.get("code")),
                   active=bool(clinical & ACTIVE_CONDITION))


READERS = (  # (resource type, code search parameter, code systems searched, reader)
    ("Observation", "code", ("loinc", "snomed", "hcpcs", "cpt"), _observation),
    ("Procedure", "code", ("cpt", "hcpcs", "snomed"), _procedure),
    ("DiagnosticReport", "code", ("loinc", "cpt"), _report),
    ("Immunization", "vaccine-code", ("cvx",), _immunization),
    ("Condition", "code", ("icd10", "snomed"), _condition),
)


def _medications(repo: Repository, patient_id: str, record: PatientRecord, shown: list[str]) -> None:
    from mederi.clinical.cds.knowledge import knowledge
    from mederi.clinical.cds.medications import drugs_from

    resources = []
    for resource_type in ("MedicationStatement", "MedicationRequest"):
        result = repo.search(resource_type, [("patient", patient_id), ("status", "active"), ("_count", str(SCAN)),
                                             ("_total", "none")], first_page_only=True)
        shown += [s.reference for s in result.matches]
        resources += [s.as_dict() for s in result.matches]
    kb = knowledge()
    for drug in drugs_from(resources):
        record.drug_names.append(drug.name)
        for ingredient in drug.ingredients:
            record.drug_classes |= set(kb.classes_of.get(ingredient, ()))


def read_record(context: Context, patient_id: str, shown: list[str] | None = None) -> PatientRecord:
    """The patient's findings for preventive care. Audited here unless the caller collects `shown`
    references for an audit entry of its own (the chart does)."""
    repo = Repository(context)
    patient = repo.read("Patient", patient_id).as_dict()
    collected: list[str] = [f"Patient/{patient_id}"]
    record = PatientRecord(patient_id, _day(patient.get("birthDate")) if len(patient.get("birthDate") or "") == 10
                           else None, patient.get("gender") or "")
    for resource_type, parameter, system_names, reader in READERS:
        result = repo.search(resource_type, [("patient", patient_id), (parameter, tokens(system_names=system_names)),
                                             ("_count", str(SCAN)), ("_total", "none")], first_page_only=True)
        for stored in result.matches:
            finding = reader(stored.reference, stored.as_dict())
            if finding is not None and finding.sets:
                record.findings.append(finding)
                collected.append(stored.reference)
    _medications(repo, patient_id, record, collected)
    if shown is not None:
        shown += collected
    else:
        audit.record(context, "read", patient_id=patient_id, resource_type="Patient",
                     resource_ids=list(dict.fromkeys(collected)), query="ui: preventive care")
    return record


def person_words(record: PatientRecord) -> tuple[str, str]:
    """('she', 'her') and so on, for reasons written about the patient."""
    return {"female": ("she", "her"), "male": ("he", "his")}.get(record.sex, ("they", "their"))

