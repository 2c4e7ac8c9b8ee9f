"""What the biller's screens do: bill a visit in one step, fix a draft claim, correct or void a sent one.

`bill_visit` captures the charge lines of a visit and writes the claim to the patient's primary
coverage in one transaction: when anything is wrong nothing is stored and every problem names its
line and field (`line[2].code`, `diagnosis[3]`). Fixes to a claim (a line's modifiers, units or
diagnosis pointers, a diagnosis, removing a line) are allowed while it is draft, scrubbed or
rejected, and put it back to draft to be scrubbed again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from mederi.billing import claim_status
from mederi.billing.claims import codes, icd10
from mederi.billing.claims.charges import ChargeLine, capture_charges, primary_coverage, ref_id
from mederi.billing.claims.claims import ClaimError, create_claim
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue
from mederi.fhir.repository import Repository

EDITABLE = (claim_status.DRAFT, claim_status.SCRUBBED, claim_status.REJECTED)
SENT = (claim_status.SUBMITTED, claim_status.ACCEPTED, claim_status.PAID, claim_status.DENIED,
        claim_status.PARTIALLY_PAID)


@dataclass
class Row:
    """One line of the charge screen as typed: pointers are numbers of the visit's diagnoses (1-12)."""

    code: str = ""
    modifiers: list[str] = field(default_factory=list)
    units: str = "1"
    place_of_service: str = "11"
    pointers: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.code.strip() and not any(m.strip() for m in self.modifiers)


def check_diagnoses(diagnoses: list[str]) -> tuple[list[str], list[Issue]]:
    """The visit's diagnoses made billable (dotted); problems at `diagnosis[n]` (1-based)."""
    checked, issues = [], []
    for number, code in enumerate(diagnoses, start=1):
        if not code.strip():
            checked.append("")
            continue
        try:
            checked.append(icd10.billable(code))
        except icd10.DiagnosisError as error:
            checked.append("")
            issues.append(Issue(error.message, expression=f"diagnosis[{number}]"))
    seen = [c for c in checked if c]
    for number, code in enumerate(checked, start=1):
        if code and seen.count(code) > 1 and checked.index(code) + 1 != number:
            issues.append(Issue(f"{code} is listed twice: point the lines to the first one.",
                                expression=f"diagnosis[{number}]"))
    return checked, issues


def charge_lines(rows: list[Row], diagnoses: list[str]) -> tuple[list[ChargeLine], list[int], list[Issue]]:
    """ChargeLines of the rows that are filled in, the form row of each, and pointer problems."""
    lines, positions, issues = [], [], []
    for number, row in enumerate(rows):
        if row.empty:
            continue
        chosen = []
        for pointer in row.pointers:
            if not pointer:
                continue
            index = int(pointer) - 1 if pointer.isdigit() else -1
            if not 0 <= index < len(diagnoses) or not diagnoses[index]:
                issues.append(Issue(f"Pointer {pointer} names no diagnosis of the visit: choose one listed above.",
                                    expression=f"row[{number}].pointers"))
            elif diagnoses[index] not in chosen:
                chosen.append(diagnoses[index])
        if not chosen and not any(i.expression == f"row[{number}].pointers" for i in issues):
            issues.append(Issue("Point the line to at least one of the visit's diagnoses.",
                                expression=f"row[{number}].pointers"))
        lines.append(ChargeLine(row.code, chosen, modifiers=[m for m in row.modifiers if m.strip()], units=row.units,
                                place_of_service=row.place_of_service))
        positions.append(number)
    if not lines:
        issues.append(Issue("Add at least one charge line: a procedure code and its diagnosis.", expression="row[0].code"))
    return lines, positions, issues


def _form_issues(error: InvalidRequest, positions: list[int]) -> list[Issue]:
    """capture_charges names lines in the order given (`line[n].field`); the form names its rows."""
    issues = []
    for issue in error.issues:
        where = issue.expression or ""
        if where.startswith("line[") and "]" in where:
            index = int(where[5:where.index("]")])
            field_name = where[where.index("]") + 2:] or "code"
            field_name = "pointers" if field_name == "diagnoses" else field_name
            where = f"row[{positions[index]}].{field_name}" if index < len(positions) else "row[0].code"
        issues.append(Issue(issue.diagnostics, expression=where, severity=issue.severity))
    return issues


def bill_visit(context: Context, encounter_id: str, diagnoses: list[str], rows: list[Row]) -> str:
    """Capture the visit's charges and write their claim to the primary coverage; returns the Claim id."""
    repository = Repository(context)
    encounter = repository.read("Encounter", encounter_id).as_dict()
    if encounter.get("status") != "finished":
        raise InvalidRequest.single("This visit is not finished: charges are entered once the note is signed.",
                                    expression="encounter")
    checked, issues = check_diagnoses(diagnoses)
    lines, positions, pointer_issues = charge_lines(rows, checked)
    issues += pointer_issues
    coverage = primary_coverage(repository, ref_id(encounter.get("subject"), "Patient"))
    if coverage is None:
        issues.append(Issue("The patient has no active coverage to bill: add it at the front desk first.",
                            expression="coverage"))
    if issues:
        raise InvalidRequest(issues=issues)
    with transaction.atomic():
        try:
            captured = capture_charges(context, encounter_id, lines)
        except InvalidRequest as error:
            raise InvalidRequest(issues=_form_issues(error, positions)) from None
        return create_claim(context, captured.charge_ids, [coverage["id"]])


def visit_for(context: Context, patient_id: str, day: dt.date, practitioner_id: str) -> str:
    """The patient's visit with the provider on that day; a finished visit is recorded when there is none
    (a service billed without a visit note, such as a nurse injection)."""
    repository = Repository(context)
    issues = []
    for kind, logical_id, where in (("Patient", patient_id, "patient"), ("Practitioner", practitioner_id, "provider")):
        if not logical_id:
            issues.append(Issue(f"Choose the {'patient' if kind == 'Patient' else 'rendering provider'}.",
                                expression=where))
    if issues:
        raise InvalidRequest(issues=issues)
    repository.read("Patient", patient_id)
    repository.read("Practitioner", practitioner_id)
    found = repository.search("Encounter", [("subject", f"Patient/{patient_id}"), ("date", f"ge{day.isoformat()}"),
                                            ("date", f"le{day.isoformat()}"), ("_count", "50")])
    for stored in found.matches:
        encounter = stored.as_dict()
        people = {ref_id(p.get("individual"), "Practitioner") for p in encounter.get("participant") or ()}
        if practitioner_id in people and encounter.get("status") == "finished":
            return encounter["id"]
    encounter = {
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "participant": [{"individual": {"reference": f"Practitioner/{practitioner_id}"}}],
        "period": {"start": day.isoformat(), "end": day.isoformat()},
    }
    return repository.create(encounter).stored.logical_id


def _editable(repository: Repository, claim_id: str) -> tuple[dict, int]:
    stored = repository.read("Claim", claim_id)
    claim = stored.as_dict()
    status = claim_status.status_of(claim)
    if status not in EDITABLE:
        raise ClaimError.single(f"A {claim_status.LABELS[status].lower()} claim is not changed: send a corrected "
                                "claim (frequency 7) instead.", expression="status")
    return claim, stored.version_id


def _save(repository: Repository, claim: dict, version: int) -> None:
    claim["total"] = {"value": sum((Decimal(i["net"]["value"]) for i in claim["item"]), Decimal("0")), "currency": "USD"}
    claim = claim_status.set_status(claim, claim_status.DRAFT)  # changed: to be scrubbed again
    repository.update("Claim", claim["id"], claim, if_match=version)


def change_line(context: Context, claim_id: str, sequence: int, *, modifiers: list[str], units: str,
                pointers: list[str]) -> None:
    """Change a line's modifiers, units and diagnosis pointers (numbers of the claim's diagnoses)."""
    repository = Repository(context)
    claim, version = _editable(repository, claim_id)
    item = next((i for i in claim["item"] if i["sequence"] == sequence), None)
    if item is None:
        raise ClaimError.single(f"The claim has no line {sequence}.", expression="item")
    where = f"item[{sequence}]"
    issues = []
    try:
        cleaned = codes.normalize_modifiers([m for m in modifiers if m.strip()])
    except codes.CodeError as error:
        issues.append(Issue(str(error), expression=f"{where}.modifier"))
    try:
        count = Decimal(str(units).strip())
        if not count.is_finite() or count <= 0 or count > 9999 or count != count.to_integral_value():
            raise ValueError
    except (ArithmeticError, ValueError):
        issues.append(Issue(f"Units must be a whole number from 1, not “{units}”.", expression=f"{where}.quantity"))
    numbers = [int(p) for p in pointers if str(p).strip().isdigit()]
    if len(numbers) != len([p for p in pointers if str(p).strip()]) or not numbers or \
            any(not 1 <= n <= len(claim["diagnosis"]) for n in numbers):
        issues.append(Issue(f"Choose one to four of the claim's diagnoses (1 to {len(claim['diagnosis'])}).",
                            expression=f"{where}.diagnosisSequence"))
    if issues:
        raise ClaimError(issues=issues)
    item["modifier"] = [{"coding": [{"system": systems.CPT_MODIFIER, "code": m}]} for m in cleaned]
    if not cleaned:
        item.pop("modifier")
    item["quantity"] = {"value": count}
    item["diagnosisSequence"] = list(dict.fromkeys(numbers))[:4]
    item["net"] = {"value": (Decimal(item["unitPrice"]["value"]) * count).quantize(Decimal("0.01")), "currency": "USD"}
    _save(repository, claim, version)


def remove_line(context: Context, claim_id: str, sequence: int) -> None:
    repository = Repository(context)
    claim, version = _editable(repository, claim_id)
    kept = [i for i in claim["item"] if i["sequence"] != sequence]
    if len(kept) == len(claim["item"]):
        raise ClaimError.single(f"The claim has no line {sequence}.", expression="item")
    if not kept:
        raise ClaimError.single("A claim keeps at least one line: void or leave it instead.", expression="item")
    claim["item"] = kept  # the other lines keep their numbers (REF*6R) so remittance still finds them
    _save(repository, claim, version)


def replace_diagnosis(context: Context, claim_id: str, sequence: int, code: str) -> None:
    """Put a billable code in place of the claim's diagnosis `sequence` (the lines keep pointing at it)."""
    repository = Repository(context)
    claim, version = _editable(repository, claim_id)
    entry = next((d for d in claim["diagnosis"] if d["sequence"] == sequence), None)
    if entry is None:
        raise ClaimError.single(f"The claim has no diagnosis {sequence}.", expression="diagnosis")
    try:
        billable = icd10.billable(code)
    except icd10.DiagnosisError as error:
        raise ClaimError.single(error.message, expression=f"diagnosis[{sequence}]") from None
    entry["diagnosisCodeableConcept"] = {"coding": [{"system": systems.ICD10CM, "code": billable,
                                                     "display": icd10.description(billable)}]}
    _save(repository, claim, version)


def add_diagnosis(context: Context, claim_id: str, code: str) -> int:
    """Add a billable diagnosis to the claim (up to 12); returns its number for the lines to point at."""
    repository = Repository(context)
    claim, version = _editable(repository, claim_id)
    try:
        billable = icd10.billable(code)
    except icd10.DiagnosisError as error:
        raise ClaimError.single(error.message, expression="diagnosis") from None
    present = [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]]
    if billable in present:
        return present.index(billable) + 1
    if len(present) >= 12:
        raise ClaimError.single("A claim carries at most 12 diagnoses.", expression="diagnosis")
    claim["diagnosis"].append({"sequence": len(present) + 1, "diagnosisCodeableConcept": {
        "coding": [{"system": systems.ICD10CM, "code": billable, "display": icd10.description(billable)}]}})
    _save(repository, claim, version)
    return len(present) + 1


def follow_up_claim(context: Context, claim_id: str, frequency: str, payer_claim_number: str) -> str:
    """A corrected (7) or void (8) claim for a sent one, from the same charges and coverages."""
    repository = Repository(context)
    claim = repository.read("Claim", claim_id).as_dict()
    if claim_status.status_of(claim) not in SENT:
        raise ClaimError.single("Only a claim the payer has received is corrected or voided; fix a draft in place.",
                                expression="status")
    charges = [e["valueReference"]["reference"].split("/", 1)[1] for item in claim["item"]
               for e in item.get("extension", ()) if e.get("url") == "urn:mederi:charge-item"]
    coverages = [ref_id(i["coverage"], "Coverage") for i in sorted(claim["insurance"], key=lambda i: i["sequence"])]
    focal = next(n for n, i in enumerate(sorted(claim["insurance"], key=lambda i: i["sequence"])) if i.get("focal"))
    return create_claim(context, charges, coverages, focal=focal, frequency=frequency,
                        original_reference=payer_claim_number or claim_status.claim_number(claim) or "",
                        replaces_claim_id=claim_id,
                        referring_id=ref_id(claim.get("referral"), "Practitioner"),
                        facility_id=ref_id(claim.get("facility"), "Location"))
