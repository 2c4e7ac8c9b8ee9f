"""What the patient takes (MedicationStatement, RxNorm-coded), and medication reconciliation.

Drugs are found in the drug catalogue (`mederi.clinical.drugs`: RxCUI search over the starter
list or a full RxNorm release); a drug the catalogue lacks is entered with its RxCUI and name as
typed, or by name alone.

Reconciliation: at a visit the clinician goes through the active list and marks each drug
continued, changed (new directions) or stopped. That is recorded as the statements' new
versions (a stopped one gets status `stopped` and an end date; a changed one its new dosage)
plus one `List` resource (code `medications`, mode snapshot) whose entries point at every
statement reviewed, each flagged with the decision (`urn:mederi:medication-reconciliation`), tied
to the Encounter, dated and sourced by the clinician. All in one transaction: the List is the
proof that the list was reviewed, and its history shows each reconciliation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mederi.clinical.drugs import selectors as drugs
from mederi.clinical.entries import common
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

RXCUI_FORMAT = re.compile(r"[0-9]{1,10}")
DECISIONS = {"continued": "Continued", "changed": "Changed", "stopped": "Stopped"}


def suggestions(typed: str, limit: int = 10):
    """Drugs of the catalogue whose name begins with `typed` (clinical drugs and ingredients first)."""
    return drugs.search_drugs(typed, limit) if len(typed.strip()) >= 2 else []


def _medication(data, errors: common.FieldErrors) -> dict | None:
    name = common.text(data, "drug")
    rxcui = common.text(data, "rxcui", 12)
    if rxcui and not RXCUI_FORMAT.fullmatch(rxcui):
        errors.add("rxcui", f"'{rxcui}' is not an RxCUI (RxNorm concept ids are digits only).")
        return None
    concept = drugs.drug_by_rxcui(rxcui) if rxcui else next(
        (d for d in drugs.search_drugs(name, 50) if d.name.lower() == name.lower()), None) if name else None
    if concept is not None:
        return common.concept(systems.RXNORM, concept.rxcui, concept.name)
    if not name:
        errors.add("drug", "Name the drug (choose it from the suggestions to code it in RxNorm).")
        return None
    if rxcui:  # not in the catalogue loaded here: kept as typed
        return common.concept(systems.RXNORM, rxcui, name)
    return {"text": name}


def add_medication(context: Context, patient_id: str, data, encounter_id: str | None = None) -> str:
    """Put a drug on the patient's list; the MedicationStatement id. InvalidRequest names each bad field."""
    repo = Repository(context)
    common.check_patient(repo, patient_id)
    errors = common.FieldErrors()
    medication = _medication(data, errors)
    started = common.date_in(data, "started", "The start date", errors)
    encounter = common.encounter_reference(repo, patient_id, encounter_id, errors)
    errors.raise_if_any()
    statement = {"resourceType": "MedicationStatement", "status": "active", "medicationCodeableConcept": medication,
                 "subject": {"reference": f"Patient/{patient_id}"}, "dateAsserted": common.now_instant()}
    if started:
        statement["effectivePeriod"] = {"start": started.isoformat()}
    dosage = common.text(data, "dosage")
    if dosage:
        statement["dosage"] = [{"text": dosage}]
    if encounter:
        statement["context"] = encounter
    recorder = common.recorder_reference(context)
    if recorder:
        statement["informationSource"] = recorder
    return common.write_all(context, [statement])[0].logical_id


def reconcile(context: Context, patient_id: str, data, encounter_id: str | None = None) -> str:
    """Record a reconciliation of every active drug (`decision_<id>`, and `dosage_<id>` when changed).

    Returns the id of the List that records it. Every active drug needs a decision; a change
    needs its new directions. Nothing is stored when anything is missing.
    """
    repo = Repository(context)
    common.check_patient(repo, patient_id)
    errors = common.FieldErrors()
    encounter = common.encounter_reference(repo, patient_id, encounter_id, errors)
    active = common.search(context, "MedicationStatement", [("patient", patient_id), ("status", "active")], 200)
    if not active:
        errors.add(None, "There are no active medications to reconcile.")
    updates, entries = [], []
    for stored in active:
        statement = stored.as_dict()
        name = common.words_of(statement.get("medicationCodeableConcept"))
        decision = common.text(data, f"decision_{stored.logical_id}", 12)
        if decision not in DECISIONS:
            errors.add(f"decision_{stored.logical_id}", f"{name}: say whether it is continued, changed or stopped.")
            continue
        if decision == "stopped":
            statement["status"] = "stopped"
            statement["effectivePeriod"] = {**(statement.get("effectivePeriod") or {}), "end": common.today().isoformat()}
            updates.append((statement, stored.version_id))
        elif decision == "changed":
            dosage = common.text(data, f"dosage_{stored.logical_id}")
            before = " ".join(d.get("text", "") for d in statement.get("dosage") or ())
            if not dosage or dosage == before:
                errors.add(f"dosage_{stored.logical_id}", f"{name}: write the new directions for the change.")
                continue
            statement["dosage"] = [{"text": dosage}]
            updates.append((statement, stored.version_id))
        entries.append({"item": {"reference": stored.reference},
                        "flag": common.concept(systems.MEDICATION_RECONCILIATION, decision, DECISIONS[decision])})
    errors.raise_if_any()
    review = {"resourceType": "List", "status": "current", "mode": "snapshot", "title": "Medication reconciliation",
              "code": common.concept(systems.LIST_CODE, "medications", "Medication List"),
              "subject": {"reference": f"Patient/{patient_id}"}, "date": common.now_instant(), "entry": entries}
    if encounter:
        review["encounter"] = encounter
    recorder = common.recorder_reference(context)
    if recorder:
        review["source"] = recorder
    return common.write_all(context, [review], updates)[-1].logical_id


@dataclass
class MedicationRow:
    id: str
    name: str
    rxcui: str
    dosage: str
    status: str
    started: str
    ended: str
    version: int


def medication_list(context: Context, patient_id: str, limit: int = 100, *, audit: bool = True,
                    active_only: bool = False) -> list[MedicationRow]:
    """The patient's medications, active first; audited."""
    params = [("patient", patient_id), ("_sort", "-_lastUpdated")] + ([("status", "active")] if active_only else [])
    found = common.search(context, "MedicationStatement", params, limit)
    rows = []
    for stored in found:
        s = stored.as_dict()
        period = s.get("effectivePeriod") or {}
        rows.append(MedicationRow(stored.logical_id, common.words_of(s.get("medicationCodeableConcept")),
                                  common.code_of(s.get("medicationCodeableConcept"), systems.RXNORM),
                                  " ".join(d.get("text", "") for d in s.get("dosage") or ()), s.get("status", ""),
                                  (period.get("start") or "")[:10], (period.get("end") or "")[:10], stored.version_id))
    if audit:
        common.audit_shown(context, patient_id, "MedicationStatement", found, "medications")
    return sorted(rows, key=lambda r: r.status != "active")


def last_reconciliation(context: Context, patient_id: str) -> str:
    """When the list was last reconciled (a date), or ''."""
    found = common.search(context, "List", [("patient", patient_id), ("code", f"{systems.LIST_CODE}|medications"),
                                            ("_sort", "-date")], 1)
    return (found[0].as_dict().get("date") or "")[:10] if found else ""
