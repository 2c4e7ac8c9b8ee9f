"""The problem list: Conditions of category problem-list-item, coded in ICD-10-CM and/or SNOMED CT.

A starter list of common problems with both codes ships as data (data/problems.csv) for search as
you type; a problem not on it is entered with its own code(s). Resolving a problem keeps it on
the record with clinical status `resolved` and the day it ended (records are never removed).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mederi.clinical.entries import common
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

ICD10_FORMAT = re.compile(r"[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
SNOMED_FORMAT = re.compile(r"[1-9][0-9]{5,17}")
PROBLEM_LIST_ITEM = common.concept(systems.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
STATUSES = {"active": "Active", "resolved": "Resolved"}


@dataclass(frozen=True)
class KnownProblem:
    display: str
    icd10: str
    snomed: str

    @property
    def label(self) -> str:
        return f"{self.display} ({self.icd10})"


@cache
def starter_list() -> tuple[KnownProblem, ...]:
    with (Path(__file__).parent / "data" / "problems.csv").open(encoding="utf-8") as handle:
        return tuple(KnownProblem(r["display"], r["icd10"], r["snomed"]) for r in csv.DictReader(handle))


def suggestions(typed: str, limit: int = 10) -> list[KnownProblem]:
    """Problems whose words begin with what was typed ('diab ty' finds type 2 diabetes), or whose code does."""
    words = typed.lower().split()
    if not words:
        return []
    found = []
    for problem in starter_list():
        names = re.split(r"[\s,()/-]+", problem.display.lower())
        codes = (problem.icd10.lower(), problem.snomed)
        if all(any(n.startswith(w) for n in names) for w in words) or any(c.startswith(words[0]) for c in codes):
            found.append(problem)
    return found[:limit]


def _known(label: str, icd10: str, snomed: str) -> KnownProblem | None:
    for problem in starter_list():
        if label.lower() in (problem.display.lower(), problem.label.lower()) or (icd10 and icd10 == problem.icd10) \
                or (snomed and snomed == problem.snomed):
            return problem
    return None


def condition_of(patient_id: str, data, errors: common.FieldErrors) -> dict:
    """A problem-list Condition from what was typed (problem, icd10, snomed, onset, status)."""
    label = common.text(data, "problem")
    icd10 = common.text(data, "icd10", 10).upper()
    snomed = common.text(data, "snomed", 18)
    if icd10 and not ICD10_FORMAT.fullmatch(icd10):
        errors.add("icd10", f"'{icd10}' is not an ICD-10-CM code: a letter, two characters, then an optional "
                            "dot and up to four more (like E11.9).")
    if snomed and not SNOMED_FORMAT.fullmatch(snomed):
        errors.add("snomed", f"'{snomed}' is not a SNOMED CT concept id (6 to 18 digits).")
    known = _known(label, icd10, snomed)
    if known:
        icd10, snomed = icd10 or known.icd10, snomed or known.snomed
        label = label if label and label.lower() not in (known.label.lower(),) else known.display
    if not (icd10 or snomed) and "icd10" not in _fields(errors) and "snomed" not in _fields(errors):
        errors.add("problem", "Choose a problem from the suggestions, or give its ICD-10-CM or SNOMED CT code.")
    if not label and not known:
        errors.add("problem", "Name the problem as it should read on the chart.")
    onset = common.date_in(data, "onset", "The onset", errors)
    status = common.text(data, "clinical_status", 10) or "active"
    if status not in STATUSES:
        errors.add("clinical_status", "The status is active or resolved.")
    codings = []
    if icd10:
        codings.append({"system": systems.ICD10CM, "code": icd10, "display": known.display if known else label})
    if snomed:
        codings.append({"system": systems.SNOMED, "code": snomed, "display": known.display if known else label})
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": common.concept(systems.CONDITION_CLINICAL, status, STATUSES.get(status, "")),
        "verificationStatus": common.concept(systems.CONDITION_VERIFICATION, "confirmed", "Confirmed"),
        "category": [PROBLEM_LIST_ITEM], "code": {"coding": codings, "text": label},
        "subject": {"reference": f"Patient/{patient_id}"}, "recordedDate": common.now_instant(),
    }
    if onset:
        condition["onsetDateTime"] = onset.isoformat()
    if status == "resolved":
        condition["abatementDateTime"] = common.today().isoformat()
    return condition


def _fields(errors: common.FieldErrors) -> set[str]:
    return {i.expression for i in errors.issues}


def add_problem(context: Context, patient_id: str, data, encounter_id: str | None = None) -> str:
    """Put a problem on the list; its Condition id. InvalidRequest names each field with a problem."""
    repo = Repository(context)
    common.check_patient(repo, patient_id)
    errors = common.FieldErrors()
    condition = condition_of(patient_id, data, errors)
    encounter = common.encounter_reference(repo, patient_id, encounter_id, errors)
    errors.raise_if_any()
    if encounter:
        condition["encounter"] = encounter
    recorder = common.recorder_reference(context)
    if recorder:
        condition["recorder"] = recorder
    return common.write_all(context, [condition])[0].logical_id


def set_problem_status(context: Context, patient_id: str, condition_id: str, status: str) -> None:
    """Resolve a problem (it ended today) or make it active again; the earlier versions stay in its history."""
    if status not in STATUSES:
        common.refuse("clinical_status", "The status is active or resolved.")
    repo = Repository(context)
    stored = repo.read("Condition", condition_id)
    condition = stored.as_dict()
    if not common.owned_by(condition, patient_id):
        common.refuse(None, "That problem is another patient's.")
    condition["clinicalStatus"] = common.concept(systems.CONDITION_CLINICAL, status, STATUSES[status])
    if status == "resolved":
        condition["abatementDateTime"] = common.today().isoformat()
    else:
        condition.pop("abatementDateTime", None)
    common.write_all(context, [], [(condition, stored.version_id)])


@dataclass
class ProblemRow:
    id: str
    words: str
    icd10: str
    snomed: str
    status: str
    onset: str
    resolved_on: str


def problem_list(context: Context, patient_id: str, limit: int = 100, *, audit: bool = True) -> list[ProblemRow]:
    """The patient's problems, active first, newest first within each; audited."""
    found = common.search(context, "Condition", [("patient", patient_id), ("category", "problem-list-item"),
                                                 ("_sort", "-_lastUpdated")], limit)
    rows = []
    for stored in found:
        c = stored.as_dict()
        rows.append(ProblemRow(stored.logical_id, common.words_of(c.get("code")),
                               common.code_of(c.get("code"), systems.ICD10CM),
                               common.code_of(c.get("code"), systems.SNOMED),
                               common.code_of(c.get("clinicalStatus"), systems.CONDITION_CLINICAL) or "active",
                               (c.get("onsetDateTime") or "")[:10], (c.get("abatementDateTime") or "")[:10]))
    if audit:
        common.audit_shown(context, patient_id, "Condition", found, "problem list")
    return sorted(rows, key=lambda r: r.status != "active")
