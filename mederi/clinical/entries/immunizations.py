"""Immunizations given or reported: Immunization resources coded in CVX (a starter list ships as
data/vaccines.csv), with the day, the lot number and the body site."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mederi.clinical.entries import common
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

SITE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActSite"
SITES = {"LA": "Left arm", "RA": "Right arm", "LD": "Left deltoid", "RD": "Right deltoid", "LT": "Left thigh",
         "RT": "Right thigh", "LVL": "Left vastus lateralis", "RVL": "Right vastus lateralis"}


@dataclass(frozen=True)
class Vaccine:
    cvx: str
    name: str
    group: str


@cache
def vaccines() -> dict[str, Vaccine]:
    with (Path(__file__).parent / "data" / "vaccines.csv").open(encoding="utf-8") as handle:
        return {r["cvx"]: Vaccine(r["cvx"], r["name"], r["group"]) for r in csv.DictReader(handle)}


def record_immunization(context: Context, patient_id: str, data, encounter_id: str | None = None) -> str:
    """Record a vaccine given (CVX code, date, lot, site); the Immunization id. InvalidRequest names bad fields."""
    repo = Repository(context)
    common.check_patient(repo, patient_id)
    errors = common.FieldErrors()
    cvx = common.text(data, "vaccine", 5)
    vaccine = vaccines().get(cvx)
    if not cvx:
        errors.add("vaccine", "Choose the vaccine given.")
    elif vaccine is None:
        errors.add("vaccine", f"CVX code '{cvx}' is not on the practice's vaccine list.")
    given = common.date_in(data, "given_on", "The day given", errors, required=True)
    site = common.text(data, "site", 5)
    if site and site not in SITES:
        errors.add("site", "Choose the body site from the list.")
    lot = common.text(data, "lot", 40)
    encounter = common.encounter_reference(repo, patient_id, encounter_id, errors)
    errors.raise_if_any()
    immunization = {"resourceType": "Immunization", "status": "completed",
                    "vaccineCode": common.concept(systems.CVX, vaccine.cvx, vaccine.name),
                    "patient": {"reference": f"Patient/{patient_id}"}, "occurrenceDateTime": given.isoformat(),
                    "recorded": common.now_instant(), "primarySource": True}
    if lot:
        immunization["lotNumber"] = lot
    if site:
        immunization["site"] = common.concept(SITE_SYSTEM, site, SITES[site])
    if encounter:
        immunization["encounter"] = encounter
    recorder = common.recorder_reference(context)
    if recorder:
        immunization["performer"] = [{"actor": recorder}]
    return common.write_all(context, [immunization])[0].logical_id


@dataclass
class ImmunizationRow:
    id: str
    vaccine: str
    cvx: str
    given_on: str
    lot: str
    site: str


def immunization_list(context: Context, patient_id: str, limit: int = 100, *, audit: bool = True
                      ) -> list[ImmunizationRow]:
    """The patient's immunizations, latest first; audited."""
    found = common.search(context, "Immunization", [("patient", patient_id), ("_sort", "-date")], limit)
    rows = []
    for stored in found:
        i = stored.as_dict()
        rows.append(ImmunizationRow(stored.logical_id, common.words_of(i.get("vaccineCode")),
                                    common.code_of(i.get("vaccineCode"), systems.CVX),
                                    (i.get("occurrenceDateTime") or "")[:10], i.get("lotNumber", ""),
                                    common.words_of(i.get("site"))))
    if audit:
        common.audit_shown(context, patient_id, "Immunization", found, "immunizations")
    return rows
