"""Reads for the biller's screens: a visit to charge, the claims list, one claim with its findings,
status history and batch, and the code searches behind the typeahead fields."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal

import simple_icd_10_cm as icd

from mederi.billing import claim_status
from mederi.billing.claims import codes, fees, scrubber
from mederi.billing.claims.charges import ref_id
from mederi.billing.claims.tables import BatchClaim, ProcedureDescription
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import Issue
from mederi.fhir.repository import Repository

LIMIT = 20


def person_name(resource: dict) -> str:
    names = resource.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    return " ".join((name.get("given") or [])[:1] + [name.get("family", "")]).strip() or resource.get("id", "")


@dataclass
class Visit:
    encounter: dict
    patient: dict
    provider: dict | None
    day: str
    diagnoses: list[str]  # ICD-10-CM codes recorded at the visit, then the active problem list
    claims: list[dict] = field(default_factory=list)  # claims already made from this visit's charges


def _icd_codes(condition: dict) -> list[str]:
    return [c["code"] for c in (condition.get("code") or {}).get("coding") or () if c.get("system") == systems.ICD10CM]


def visit(context: Context, encounter_id: str) -> Visit:
    repository = Repository(context)
    encounter = repository.read("Encounter", encounter_id).as_dict()
    patient = repository.read("Patient", ref_id(encounter.get("subject"), "Patient")).as_dict()
    provider_id = next((ref_id(p.get("individual"), "Practitioner") for p in encounter.get("participant") or ()
                        if ref_id(p.get("individual"), "Practitioner")), "")
    provider = repository.read("Practitioner", provider_id).as_dict() if provider_id else None
    found: list[str] = []
    for params in ([("encounter", f"Encounter/{encounter_id}")],
                   [("patient", f"Patient/{patient['id']}"), ("category", "problem-list-item"),
                    ("clinical-status", "active")]):
        for stored in repository.search("Condition", params + [("_count", "50")]).matches:
            found += [c for c in _icd_codes(stored.as_dict()) if c not in found]
    charged = {s.logical_id for s in repository.search("ChargeItem", [("context", f"Encounter/{encounter_id}"),
                                                                      ("_count", "200")]).matches}
    claims = []
    if charged:
        found_claims = [stored.as_dict() for stored in repository.search(
            "Claim", [("patient", f"Patient/{patient['id']}"), ("_count", "200")]).matches]
        found_claims = [claim for claim in found_claims if any(
            e["valueReference"]["reference"].split("/", 1)[1] in charged for i in claim["item"]
            for e in i.get("extension", ()) if e.get("url") == "urn:mederi:charge-item")]
        statuses = claim_status.current_statuses(found_claims)
        claims = [summary(claim, person_name(patient), statuses[claim["id"]]) for claim in found_claims]
    return Visit(encounter, patient, provider, ((encounter.get("period") or {}).get("start") or "")[:10],
                 found[:12], claims)


def summary(claim: dict, patient_name: str = "", status: str = "") -> dict:
    """The claim's line in a list; `status` is its current status (claim_status.current_statuses)."""
    status = status or claim_status.current_statuses([claim])[claim["id"]]
    return {"id": claim["id"], "number": claim_status.claim_number(claim), "status": status,
            "status_label": claim_status.LABELS[status], "patient": patient_name,
            "patient_id": ref_id(claim.get("patient"), "Patient"),
            "date": (claim.get("billablePeriod") or {}).get("start", ""),
            "total": Decimal(claim["total"]["value"]), "lines": len(claim.get("item") or ()),
            "frequency": next((e["valueCode"] for e in claim.get("extension", ())
                               if e.get("url") == "urn:mederi:claim-frequency"), "1")}


def claims(context: Context, status: str = "", patient_id: str = "", limit: int = 200) -> list[dict]:
    """Claims newest first, with the patient's name; filtered by billing status and patient."""
    repository = Repository(context)
    params = [("_sort", "-_lastUpdated"), ("_count", str(limit))]
    if patient_id:
        params.append(("patient", f"Patient/{patient_id}"))
    rows = [s.as_dict() for s in repository.search("Claim", params).matches]
    statuses = claim_status.current_statuses(rows)
    if status:
        rows = [c for c in rows if statuses[c["id"]] == status]
    names = {}
    for patient in {ref_id(c.get("patient"), "Patient") for c in rows}:
        names[patient] = person_name(repository.read("Patient", patient).as_dict())
    return [summary(c, names[ref_id(c.get("patient"), "Patient")], statuses[c["id"]]) for c in rows]


@dataclass
class ClaimPage:
    claim: dict
    summary: dict
    patient: dict
    lines: list[dict]
    diagnoses: list[dict]
    findings: list[tuple[Issue, str]]  # each with the anchor of its field
    history: list[tuple[str, str]]  # (when, status label), oldest first
    batches: list[BatchClaim]
    payer_name: str
    rendering: str


def claim_page(context: Context, claim_id: str) -> ClaimPage:
    repository = Repository(context)
    stored = repository.read("Claim", claim_id)
    claim = stored.as_dict()
    patient = repository.read("Patient", ref_id(claim["patient"], "Patient")).as_dict()
    diagnoses = [{"sequence": d["sequence"], "code": d["diagnosisCodeableConcept"]["coding"][0]["code"],
                  "description": icd_description(d["diagnosisCodeableConcept"]["coding"][0]["code"])}
                 for d in claim.get("diagnosis") or ()]
    lines = [{"sequence": i["sequence"], "code": i["productOrService"]["coding"][0]["code"],
              "description": fees.describe(i["productOrService"]["coding"][0]["code"]),
              "modifiers": [m["coding"][0]["code"] for m in i.get("modifier") or ()],
              "units": Decimal(i["quantity"]["value"]), "pointers": i.get("diagnosisSequence") or [],
              "place": i["locationCodeableConcept"]["coding"][0]["code"], "date": i["servicedDate"],
              "price": Decimal(i["unitPrice"]["value"]), "net": Decimal(i["net"]["value"])}
             for i in claim.get("item") or ()]
    changes = [(old.last_updated, claim_status.status_of(old.as_dict())) for old in (
        repository.vread("Claim", claim_id, str(version)) for version in range(1, stored.version_id + 1))]
    answers = claim_status.adjudications([claim_id]).get(claim_id, [])
    history, last = [], None
    # The Claim's own versions up to the payer's first answer, then the answers (see claim_status).
    first_answer = answers[0][0] if answers else None
    for when, status in [c for c in changes if first_answer is None or c[0] < first_answer] + answers:
        if status != last:
            history.append((when, claim_status.LABELS[status]))
            last = status
    focal = next(i for i in claim["insurance"] if i.get("focal"))
    coverage = repository.read("Coverage", ref_id(focal["coverage"], "Coverage")).as_dict()
    payer = repository.read("Organization", ref_id((coverage.get("payor") or [{}])[0], "Organization")).as_dict()
    team = claim.get("careTeam") or []
    rendering = person_name(repository.read("Practitioner", ref_id(team[0]["provider"], "Practitioner")).as_dict()) \
        if team else ""
    status = claim_status.status_of(claim)  # draft, scrubbed and rejected are the Claim's own
    found = scrubber.findings(repository, claim) if status in (claim_status.DRAFT, claim_status.SCRUBBED,
                                                                claim_status.REJECTED) else []
    return ClaimPage(claim, summary(claim, person_name(patient)), patient, lines, diagnoses,
                     [(issue, scrubber.anchor(issue.expression)) for issue in found], history,
                     list(BatchClaim.objects.filter(claim_id=claim_id).select_related("interchange")),
                     payer.get("name", ""), rendering)


def icd_description(code: str) -> str:
    return icd.get_description(code) if icd.is_valid_item(code) else ""


@functools.cache
def _icd_index() -> tuple[tuple[str, str], ...]:
    """Every billable ICD-10-CM code with its description in lower case, built once per process."""
    return tuple((code, icd.get_description(code)) for code in icd.get_all_codes(with_dots=True)
                 if icd.is_leaf(code))


def search_diagnoses(text: str) -> list[tuple[str, str]]:
    """Billable codes starting with the text, else whose description holds every word typed."""
    text = text.strip()
    if len(text) < 2:
        return []
    plain = text.upper().replace(".", "")
    found = [(c, d) for c, d in _icd_index() if c.replace(".", "").startswith(plain)][:LIMIT]
    if found:
        return found
    words = text.lower().split()
    return [(c, d) for c, d in _icd_index() if all(w in d.lower() for w in words)][:LIMIT]


def search_procedures(text: str) -> list[tuple[str, str]]:
    """Procedure codes (shipped, HCPCS and imported) by code prefix or words of the description."""
    text = text.strip()
    if not text:
        return []
    known = {**codes.CPT_SHORT, **codes.HCPCS_LEVEL_II}
    imported = dict(ProcedureDescription.objects.filter(code__istartswith=text).values_list("code", "description")[:LIMIT])
    known.update(imported)
    upper = text.upper()
    found = [(c, d) for c, d in sorted(known.items()) if c.startswith(upper)]
    if not found:
        words = text.lower().split()
        found = [(c, d) for c, d in sorted(known.items()) if all(w in d.lower() for w in words)]
    return found[:LIMIT]
