"""Charge capture: the billable lines of a visit as FHIR ChargeItems, priced from the payer's fee schedule.

`capture_charges(context, encounter_id, lines)` checks every line first (procedure code, up to 4
modifiers, units, place of service, billable ICD-10-CM diagnoses) and writes nothing when any is
wrong: the `InvalidRequest` it raises names each problem at its line and field. Age and sex
conflicts of a diagnosis do not stop the capture; they come back as warnings to show the biller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from mederi.billing.claims import codes, fees, icd10
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue
from mederi.fhir.repository import Repository

MODIFIER_URL = "urn:mederi:charge-modifier"  # ChargeItem extension (valueCoding), in line order
PLACE_OF_SERVICE_URL = "urn:mederi:place-of-service"  # ChargeItem extension (valueCoding)
MAX_DIAGNOSES = 12  # per visit, as the 837P and the CMS-1500 carry them
MAX_POINTERS = 4  # per line


@dataclass
class ChargeLine:
    code: str
    diagnoses: list[str]  # ICD-10-CM, the first is the line's main one
    modifiers: list[str] | str = field(default_factory=list)
    units: Decimal | str | int = 1
    place_of_service: str = "11"
    price: Decimal | str | None = None  # None: from the fee schedule


@dataclass
class Captured:
    charge_ids: list[str]
    warnings: list[str]


def ref_id(reference: dict | None, resource_type: str) -> str:
    text = (reference or {}).get("reference") or ""
    return text.split("/", 1)[1] if text.startswith(f"{resource_type}/") else ""


def primary_coverage(repository: Repository, patient_id: str) -> dict | None:
    """The patient's active coverage with the lowest order (the first listed when none has one)."""
    found = [s.as_dict() for s in repository.search("Coverage", [("beneficiary", f"Patient/{patient_id}"),
                                                                 ("status", "active")]).matches]
    found.sort(key=lambda c: (c.get("order") or 99, c.get("id")))
    return found[0] if found else None


def _visit(repository: Repository, encounter_id: str) -> tuple[dict, dict, dt.date]:
    encounter = repository.read("Encounter", encounter_id).as_dict()
    patient_id = ref_id(encounter.get("subject"), "Patient")
    if not patient_id:
        raise InvalidRequest.single("This visit names no patient, so it cannot be charged.", expression="encounter")
    start = (encounter.get("period") or {}).get("start") or ""
    try:
        day = dt.date.fromisoformat(start[:10])
    except ValueError:
        raise InvalidRequest.single("This visit has no date of service (its period start).",
                                    expression="encounter") from None
    return encounter, repository.read("Patient", patient_id).as_dict(), day


def _check_line(number: int, line: ChargeLine, patient: dict, day: dt.date, payer_id: str,
                issues: list[Issue], warnings: list[str]) -> dict | None:
    where = f"line[{number}]"
    code = codes.normalize_procedure(line.code)
    checked = {}
    try:
        checked["system"] = systems.CPT if codes.code_kind(code) == "cpt" else systems.HCPCS
    except codes.CodeError as error:
        issues.append(Issue(str(error), expression=f"{where}.code"))
    try:
        checked["modifiers"] = codes.normalize_modifiers(line.modifiers)
    except codes.CodeError as error:
        issues.append(Issue(str(error), expression=f"{where}.modifiers"))
    try:
        units = Decimal(str(line.units).strip())
        if not units.is_finite() or units <= 0 or units > 9999 or units != units.quantize(Decimal("0.001")):
            raise InvalidOperation
        checked["units"] = units
    except (InvalidOperation, ValueError):
        issues.append(Issue(f"Units must be a positive number, not “{line.units}”.", expression=f"{where}.units"))
    if line.place_of_service not in codes.PLACES_OF_SERVICE:
        issues.append(Issue(f"“{line.place_of_service}” is not a place of service; use one of "
                            f"{', '.join(codes.PLACES_OF_SERVICE)} (11 is the office).",
                            expression=f"{where}.place_of_service"))
    diagnoses = [d for d in line.diagnoses if d and d.strip()]
    if not diagnoses:
        issues.append(Issue("Each line needs at least one diagnosis.", expression=f"{where}.diagnoses"))
    elif len(diagnoses) > MAX_POINTERS:
        issues.append(Issue(f"A line points to at most {MAX_POINTERS} diagnoses; {len(diagnoses)} were given.",
                            expression=f"{where}.diagnoses"))
    checked["diagnoses"] = []
    for diagnosis in diagnoses:
        try:
            billable = icd10.billable(diagnosis)
        except icd10.DiagnosisError as error:
            issues.append(Issue(error.message, expression=f"{where}.diagnoses"))
            continue
        checked["diagnoses"].append(billable)
        born = patient.get("birthDate") or ""
        warnings += icd10.conflicts(billable, gender=patient.get("gender", ""), service_date=day,
                                    birth_date=dt.date.fromisoformat(born) if len(born) == 10 else None)
    if "system" in checked and "modifiers" in checked:
        if line.price not in (None, ""):
            try:
                checked["price"] = fees.parse_price(line.price)
            except ValueError as error:
                issues.append(Issue(str(error), expression=f"{where}.price"))
        else:
            price = fees.price_for(payer_id, code, checked["modifiers"])
            if price is None:
                issues.append(Issue(f"No fee schedule prices {code}: add it to the payer's or the default "
                                    "schedule, or enter the price.", expression=f"{where}.price"))
            checked["price"] = price
    checked["code"] = code
    return checked


def _charge_item(checked: dict, line: ChargeLine, patient_id: str, encounter: dict, day: dt.date,
                 context: Context) -> dict:
    extensions = [{"url": MODIFIER_URL, "valueCoding": {"system": systems.CPT_MODIFIER, "code": m}}
                  for m in checked["modifiers"]]
    extensions.append({"url": PLACE_OF_SERVICE_URL, "valueCoding": {
        "system": systems.PLACE_OF_SERVICE, "code": line.place_of_service}})
    item = {
        "resourceType": "ChargeItem", "status": "billable", "extension": extensions,
        "code": {"coding": [{"system": checked["system"], "code": checked["code"],
                             "display": fees.describe(checked["code"])[:200]}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "context": {"reference": f"Encounter/{encounter['id']}"},
        "occurrenceDateTime": day.isoformat(),
        "quantity": {"value": checked["units"]},
        "priceOverride": {"value": checked["price"], "currency": "USD"},
        "reason": [{"coding": [{"system": systems.ICD10CM, "code": code, "display": icd10.description(code)}]}
                   for code in checked["diagnoses"]],
        "enteredDate": day.isoformat(),
    }
    performer = next((ref_id(p.get("individual"), "Practitioner") for p in encounter.get("participant") or ()
                      if ref_id(p.get("individual"), "Practitioner")), "")
    if performer:
        item["performer"] = [{"actor": {"reference": f"Practitioner/{performer}"}}]
    return item


def capture_charges(context: Context, encounter_id: str, lines: list[ChargeLine]) -> Captured:
    """Write one ChargeItem per line of the visit; all or nothing."""
    repository = Repository(context)
    encounter, patient, day = _visit(repository, encounter_id)
    if not lines:
        raise InvalidRequest.single("Add at least one charge line.", expression="line")
    coverage = primary_coverage(repository, patient["id"])
    payer_id = ref_id(((coverage or {}).get("payor") or [{}])[0], "Organization")
    issues, warnings, checked_lines = [], [], []
    for number, line in enumerate(lines):
        checked_lines.append(_check_line(number, line, patient, day, payer_id, issues, warnings))
    visit_diagnoses = {d for c in checked_lines for d in c["diagnoses"]}
    if len(visit_diagnoses) > MAX_DIAGNOSES:
        issues.append(Issue(f"A claim carries at most {MAX_DIAGNOSES} diagnoses; these lines use "
                            f"{len(visit_diagnoses)}.", expression="line"))
    if issues:
        raise InvalidRequest(issues=issues)
    with transaction.atomic():
        ids = [repository.create(_charge_item(c, line, patient["id"], encounter, day, context)).stored.logical_id
               for c, line in zip(checked_lines, lines)]
    return Captured(ids, warnings)


def modifiers_of(charge: dict) -> list[str]:
    return [e["valueCoding"]["code"] for e in charge.get("extension", ()) if e.get("url") == MODIFIER_URL]


def place_of_service_of(charge: dict) -> str:
    return next((e["valueCoding"]["code"] for e in charge.get("extension", ()) if e.get("url") == PLACE_OF_SERVICE_URL),
                "11")
