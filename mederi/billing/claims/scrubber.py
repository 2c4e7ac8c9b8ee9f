"""The claim scrubber: everything a payer would deny a claim for, found before it is sent.

`findings(repository, claim)` answers one `Issue` per problem, each saying what to fix, with an
`expression` naming the claim field (`provider`, `insurance`, `patient`, `careTeam`,
`diagnosis[2]`, `item[1].modifier`, ...) that the claim page turns into a link (`anchor`).
Errors stop the claim from being scrubbed; warnings (an age or sex conflict of a diagnosis: the
biller may know better) are shown and do not. The payer rule tables are data (`rules.py`).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from mederi.billing import claim_status, practice
from mederi.billing.claims import codes, icd10, rules
from mederi.billing.claims.charges import ref_id
from mederi.billing.claims.claims import claim_data, frequency_of
from mederi.billing.models import EligibilityCheck, PayerConnection
from mederi.core import systems
from mederi.core.errors import Issue
from mederi.core.npi import npi_is_valid
from mederi.fhir.repository import Repository

DEFAULT_TIMELY_FILING_DAYS = 365


def anchor(expression: str | None) -> str:
    """The id of the claim page element an expression names: item[2].modifier -> claim-item-2-modifier."""
    return "claim-" + (re.sub(r"[\[\].]+", "-", expression or "claim").strip("-"))


def _identifier(resource: dict, system: str) -> str:
    return next((i.get("value", "").strip() for i in resource.get("identifier") or () if i.get("system") == system), "")


def _lines(claim: dict) -> list[rules.Line]:
    diagnoses = {d["sequence"]: d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim.get("diagnosis") or ()}
    return [rules.Line(item["sequence"], item["productOrService"]["coding"][0]["code"],
                       [m["coding"][0]["code"] for m in item.get("modifier") or ()],
                       int(Decimal(item["quantity"]["value"])),
                       [diagnoses[p] for p in item.get("diagnosisSequence") or () if p in diagnoses])
            for item in claim.get("item") or ()]


def _providers(repository: Repository, claim: dict) -> list[Issue]:
    found = []
    organization = repository.read("Organization", ref_id(claim["provider"], "Organization")).as_dict()
    npi = _identifier(organization, systems.NPI)
    if npi and not npi_is_valid(npi):
        found.append(Issue(f"The practice's NPI {npi} fails the NPI check digit: correct it in the directory.",
                           code=rules.RULE, expression="provider"))
    tax_id = _identifier(organization, systems.TAX_ID).replace("-", "")
    if tax_id and not re.fullmatch(r"[0-9]{9}", tax_id):
        found.append(Issue(f"The practice's tax id “{tax_id}” is not nine digits (an EIN such as 12-3456789).",
                           code=rules.RULE, expression="provider"))
    address = (organization.get("address") or [{}])[0]
    postal = (address.get("postalCode") or "").replace("-", "")
    if postal and not re.fullmatch(r"[0-9]{9}", postal):
        found.append(Issue(f"The practice's ZIP code {address.get('postalCode')} needs all nine digits (ZIP+4) "
                           "on a claim: add the last four in the directory.", code=rules.RULE, expression="provider"))
    team = claim.get("careTeam") or []
    if not team:
        found.append(Issue("The claim names no rendering provider: choose who performed the visit.",
                           code=rules.RULE, expression="careTeam"))
    for role, reference, where in [("rendering provider", t["provider"], "careTeam") for t in team[:1]] + (
            [("referring provider", claim["referral"], "referral")] if claim.get("referral") else []):
        person = repository.read("Practitioner", ref_id(reference, "Practitioner")).as_dict()
        name = " ".join(((person.get("name") or [{}])[0].get("given") or [])[:1] +
                        [(person.get("name") or [{}])[0].get("family", "")]).strip()
        npi = _identifier(person, systems.NPI)
        if not npi:
            found.append(Issue(f"The {role} {name} has no NPI: add it to their directory entry.",
                               code=rules.RULE, expression=where))
        elif not npi_is_valid(npi):
            found.append(Issue(f"The {role} {name}'s NPI {npi} fails the NPI check digit: correct it in the directory.",
                               code=rules.RULE, expression=where))
    return found


def _patient(patient: dict) -> list[Issue]:
    found = []
    if len(patient.get("birthDate") or "") != 10:
        found.append(Issue("The patient's full date of birth is missing: add it to the registration.",
                           code=rules.RULE, expression="patient"))
    if patient.get("gender") not in ("male", "female"):
        found.append(Issue("The patient's sex (male or female) is needed on a claim: add it to the registration.",
                           code=rules.RULE, expression="patient"))
    return found


def _diagnoses(claim: dict, patient: dict, day: dt.date) -> list[Issue]:
    found = []
    born = patient.get("birthDate") or ""
    birth = dt.date.fromisoformat(born) if len(born) == 10 else None
    for diagnosis in claim.get("diagnosis") or ():
        code = diagnosis["diagnosisCodeableConcept"]["coding"][0]["code"]
        where = f"diagnosis[{diagnosis['sequence']}]"
        try:
            icd10.billable(code)
        except icd10.DiagnosisError as error:
            found.append(Issue(f"Diagnosis {diagnosis['sequence']}: {error.message}", code=rules.RULE, expression=where))
            continue
        for warning in icd10.conflicts(code, gender=patient.get("gender", ""), birth_date=birth, service_date=day):
            found.append(Issue(f"Diagnosis {diagnosis['sequence']}: {warning} Check the code.", code=rules.RULE,
                               severity="warning", expression=where))
    return found


def _line_fields(claim: dict, today: dt.date) -> list[Issue]:
    found = []
    count = len(claim.get("diagnosis") or ())
    for item in claim.get("item") or ():
        where = f"item[{item['sequence']}]"
        code = item["productOrService"]["coding"][0]["code"]
        try:
            codes.code_kind(code)
        except codes.CodeError as error:
            found.append(Issue(f"Line {item['sequence']}: {error}", code=rules.RULE, expression=f"{where}.productOrService"))
        try:
            codes.normalize_modifiers([m["coding"][0]["code"] for m in item.get("modifier") or ()])
        except codes.CodeError as error:
            found.append(Issue(f"Line {item['sequence']}: {error}", code=rules.RULE, expression=f"{where}.modifier"))
        pointers = item.get("diagnosisSequence") or []
        if not pointers:
            found.append(Issue(f"Line {item['sequence']}: point the line to at least one diagnosis.", code=rules.RULE,
                               expression=f"{where}.diagnosisSequence"))
        elif any(not 1 <= p <= count for p in pointers):
            found.append(Issue(f"Line {item['sequence']}: a diagnosis pointer names no diagnosis of the claim.",
                               code=rules.RULE, expression=f"{where}.diagnosisSequence"))
        if Decimal(item["net"]["value"]) <= 0:
            found.append(Issue(f"Line {item['sequence']}: the charge is zero; enter the price.", code=rules.RULE,
                               expression=f"{where}.net"))
        if dt.date.fromisoformat(item["servicedDate"]) > today:
            found.append(Issue(f"Line {item['sequence']}: the date of service {item['servicedDate']} is in the future.",
                               code=rules.RULE, expression=f"{where}.servicedDate"))
    return found


def _duplicates(repository: Repository, claim: dict) -> list[Issue]:
    """Another original claim of the patient for the same day, provider and codes."""
    if frequency_of(claim) != "1":
        return []

    def signature(resource: dict) -> tuple:
        team = [ref_id(t["provider"], "Practitioner") for t in resource.get("careTeam") or ()][:1]
        return ((resource.get("billablePeriod") or {}).get("start"), tuple(team),
                tuple(sorted(i["productOrService"]["coding"][0]["code"] for i in resource.get("item") or ())))

    mine = signature(claim)
    found = repository.search("Claim", [("patient", claim["patient"]["reference"]), ("_count", "200")])
    for stored in found.matches:
        other = stored.as_dict()
        if other["id"] == claim["id"] or frequency_of(other) != "1" or other.get("status") != "active":
            continue
        if signature(other) == mine:
            number = claim_status.claim_number(other)
            return [Issue(f"Claim {number} already bills these codes for this patient, day and provider: this claim "
                          f"would be denied as a duplicate. Send a corrected claim instead, or void this one.",
                          code=rules.RULE, expression="claim")]
    return []


def _coverage(repository: Repository, claim: dict, first_day: dt.date, today: dt.date) -> list[Issue]:
    found = []
    focal = next(i for i in claim["insurance"] if i.get("focal"))
    coverage_id = ref_id(focal["coverage"], "Coverage")
    coverage = repository.read("Coverage", coverage_id).as_dict()
    payer_id = ref_id((coverage.get("payor") or [{}])[0], "Organization")
    connection = PayerConnection.objects.filter(organization_id=payer_id).first()
    limit = getattr(connection, "timely_filing_days", None) or DEFAULT_TIMELY_FILING_DAYS
    if (today - first_day).days > limit:
        found.append(Issue(f"The payer takes claims up to {limit} days after the service; {first_day} was "
                           f"{(today - first_day).days} days ago. Send it only with proof of timely filing, or write "
                           "it off.", code=rules.RULE, expression="billablePeriod"))
    if coverage.get("status") != "active":
        found.append(Issue("The coverage billed is not active in the record: choose the patient's current coverage.",
                           code=rules.RULE, expression="insurance"))
    latest = EligibilityCheck.objects.filter(coverage_id=coverage_id, answered=True).order_by("-checked_at", "-id").first()
    if latest is not None and latest.status == EligibilityCheck.INACTIVE:
        found.append(Issue(f"The payer answered on {latest.checked_on} that this coverage is not active: check "
                           "eligibility again at the front desk or bill the patient's current coverage.",
                           code=rules.RULE, expression="insurance"))
    return found


def findings(repository: Repository, claim: dict) -> list[Issue]:
    """Every problem of the claim, errors first; empty when it is ready to send."""
    found: list[Issue] = []
    claim_data(repository, claim, found)  # the facts the 837P cannot go without
    patient = repository.read("Patient", ref_id(claim["patient"], "Patient")).as_dict()
    today = practice.today()
    days = sorted(dt.date.fromisoformat(i["servicedDate"]) for i in claim.get("item") or ())
    first_day = days[0] if days else today
    lines = _lines(claim)
    born = patient.get("birthDate") or ""
    age = icd10.age_on(dt.date.fromisoformat(born), first_day) if len(born) == 10 else None
    found += _providers(repository, claim)
    found += _patient(patient)
    found += _diagnoses(claim, patient, first_day)
    found += _line_fields(claim, today)
    found += rules.procedure_pairs(lines) + rules.bilateral_sides(lines) + rules.diagnosis_support(lines)
    found += rules.preventive_age(lines, age)
    found += _duplicates(repository, claim)
    found += _coverage(repository, claim, first_day, today)
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda issue: issue.severity != "error")


def blocking(found: list[Issue]) -> list[Issue]:
    return [issue for issue in found if issue.severity == "error"]
