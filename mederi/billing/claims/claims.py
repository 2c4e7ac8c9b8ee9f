"""FHIR Claims from captured charges, and the 837P data read back from a stored Claim.

`create_claim` writes a Claim (status draft) for charges of one patient: identifier CLM01 in
`systems.CLAIM_NUMBER`, one item per charge with its REF*6R line number, the diagnoses, the
coverages in order (the focal one is billed, an earlier one is the primary whose payment the
secondary claim reports), prior authorization, accident, and corrected/void references.
`claim_data(repository, claim)` gathers the parties a Claim names into `x837.ClaimData`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from mederi.billing import claim_status
from mederi.billing.claims import x837
from mederi.billing.claims.charges import modifiers_of, place_of_service_of, ref_id
from mederi.billing.models import ControlNumber
from mederi.billing.services import x12_text
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue
from mederi.fhir.repository import Repository

FREQUENCY_URL = "urn:mederi:claim-frequency"  # valueCode 1 original, 7 replacement, 8 void
PRIOR_PAID_URL = "urn:mederi:prior-payer-paid"  # Claim.insurance extension (valueMoney): what that payer paid
GENDERS = {"male": "M", "female": "F"}
PATIENT_RELATIONSHIP = {"spouse": "01", "child": "19", "other": "G8", "parent": "G8", "common": "01"}


def _x12(value: str, limit: int) -> str:
    """Names and addresses as payers expect them on a claim: plain upper-case ASCII without delimiters."""
    return x12_text(value, limit).upper()


class ClaimError(InvalidRequest):
    """A claim that cannot be built or sent; the issues say what to fix."""


@dataclass
class Accident:
    cause: str  # AA, EM, OA
    date: dt.date
    state: str = ""


def _money(value: Decimal) -> dict:
    return {"value": Decimal(value).quantize(Decimal("0.01")), "currency": "USD"}


def frequency_of(claim: dict) -> str:
    """The claim's frequency code: 1 original, 7 corrected (replacement), 8 void."""
    return next((e["valueCode"] for e in claim.get("extension", ()) if e.get("url") == FREQUENCY_URL), "1")


def create_claim(context: Context, charge_ids: list[str], coverage_ids: list[str], *, focal: int = 0,
                 prior_paid: Decimal | None = None, prior_authorization: str = "", accident: Accident | None = None,
                 referring_id: str = "", facility_id: str = "", frequency: str = "1",
                 original_reference: str = "", replaces_claim_id: str = "") -> str:
    """Write a draft Claim for the charges, billed to coverage_ids[focal]; returns its logical id.

    A corrected or void claim names the payer's number of the original (`original_reference`, sent in
    the 837) and, when it was made here, the original Claim itself (`replaces_claim_id`), so that
    posting its payment can take the original's charge off the books."""
    repository = Repository(context)
    if not charge_ids:
        raise ClaimError.single("Choose at least one charge to bill.", expression="charges")
    if not coverage_ids or not 0 <= focal < len(coverage_ids):
        raise ClaimError.single("Choose the coverage to bill.", expression="coverage")
    if frequency not in ("1", "7", "8"):
        raise ClaimError.single("The claim frequency is 1 (original), 7 (corrected) or 8 (void).")
    if frequency != "1" and not original_reference.strip():
        raise ClaimError.single("A corrected or void claim needs the payer's claim number of the original claim.",
                                expression="original_reference")
    charges = [repository.read("ChargeItem", charge_id).as_dict() for charge_id in charge_ids]
    patients = {ref_id(c.get("subject"), "Patient") for c in charges}
    if len(patients) != 1:
        raise ClaimError.single("A claim bills one patient's charges.", expression="charges")
    patient_id = patients.pop()
    coverages = [repository.read("Coverage", cid).as_dict() for cid in coverage_ids]
    if any(ref_id(c.get("beneficiary"), "Patient") != patient_id for c in coverages):
        raise ClaimError.single("The coverage belongs to another patient.", expression="coverage")
    diagnoses: list[str] = []
    for charge in charges:
        for reason in charge.get("reason") or ():
            code = reason["coding"][0]["code"]
            if code not in diagnoses:
                diagnoses.append(code)
    if len(diagnoses) > 12:
        raise ClaimError.single(f"These charges use {len(diagnoses)} diagnoses; a claim carries at most 12: "
                                "split them into two claims.", expression="charges")
    number = f"C{ControlNumber.next('claim-number'):09d}"
    items, total = [], Decimal("0")
    for sequence, charge in enumerate(charges, start=1):
        units = Decimal(charge["quantity"]["value"])
        price = Decimal(charge["priceOverride"]["value"])
        net = (price * units).quantize(Decimal("0.01"))
        total += net
        item = {
            "sequence": sequence,
            "diagnosisSequence": [diagnoses.index(r["coding"][0]["code"]) + 1 for r in charge.get("reason") or ()][:4],
            "productOrService": {"coding": [charge["code"]["coding"][0]]},
            "servicedDate": charge["occurrenceDateTime"][:10],
            "locationCodeableConcept": {"coding": [{"system": systems.PLACE_OF_SERVICE,
                                                    "code": place_of_service_of(charge)}]},
            "quantity": {"value": units}, "unitPrice": _money(price), "net": _money(net),
            "extension": [{"url": "urn:mederi:line-control-number",
                           "valueString": claim_status.line_control_number(number, sequence)},
                          {"url": "urn:mederi:charge-item", "valueReference": {"reference": f"ChargeItem/{charge['id']}"}}],
        }
        modifiers = modifiers_of(charge)
        if modifiers:
            item["modifier"] = [{"coding": [{"system": systems.CPT_MODIFIER, "code": m}]} for m in modifiers]
        items.append(item)
    performer = next((ref_id(p["actor"], "Practitioner") for c in charges for p in c.get("performer") or ()), "")
    claim = {
        "resourceType": "Claim", "status": "active", "use": "claim", "created": clock.now().isoformat(),
        "identifier": [{"system": systems.CLAIM_NUMBER, "value": number}],
        "extension": [{"url": FREQUENCY_URL, "valueCode": frequency}],
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"reference": f"Patient/{patient_id}"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "provider": {"reference": f"Organization/{_billing_organization(repository)}"},
        "insurance": [], "item": items, "total": _money(total),
        "diagnosis": [{"sequence": i, "diagnosisCodeableConcept": {"coding": [{"system": systems.ICD10CM, "code": code}]}}
                      for i, code in enumerate(diagnoses, start=1)],
        "billablePeriod": {"start": min(i["servicedDate"] for i in items), "end": max(i["servicedDate"] for i in items)},
    }
    for index, coverage in enumerate(coverages):
        entry = {"sequence": index + 1, "focal": index == focal, "coverage": {"reference": f"Coverage/{coverage['id']}"}}
        if index == focal and prior_authorization.strip():
            entry["preAuthRef"] = [prior_authorization.strip()]
        if index < focal:
            entry["extension"] = [{"url": PRIOR_PAID_URL, "valueMoney": _money(prior_paid or Decimal("0"))}]
        claim["insurance"].append(entry)
    care_team = []
    if performer:
        care_team.append({"sequence": 1, "provider": {"reference": f"Practitioner/{performer}"},
                          "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claimcareteamrole",
                                               "code": "primary"}]}})
    if referring_id:
        repository.read("Practitioner", referring_id)
        claim["referral"] = {"reference": f"Practitioner/{referring_id}"}
    if care_team:
        claim["careTeam"] = care_team
    if facility_id:
        repository.read("Location", facility_id)
        claim["facility"] = {"reference": f"Location/{facility_id}"}
    if accident:
        claim["accident"] = {"date": accident.date.isoformat(), "type": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": {"AA": "MVA", "EM": "WPA", "OA": "ACCID"}[accident.cause]}]}}
        if accident.state:
            claim["accident"]["locationAddress"] = {"state": accident.state}
    if original_reference:
        claim["related"] = [{"relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/related-claim-relationship",
                                                          "code": "prior"}]},
                             "reference": {"value": original_reference.strip()}}]
        if replaces_claim_id:
            claim["related"][0]["claim"] = {"reference": f"Claim/{replaces_claim_id}"}
    claim = claim_status.set_status(claim, claim_status.DRAFT)
    with transaction.atomic():
        stored = repository.create(claim).stored
    return stored.logical_id


def _billing_organization(repository: Repository) -> str:
    found = repository.search("Organization", [("type", f"{systems.ORGANIZATION_TYPE}|prov"), ("_sort", "_id")])
    for stored in found.matches:
        if _identifier(stored.as_dict(), systems.NPI):
            return stored.logical_id
    raise ClaimError.single("The practice's NPI is missing: give the practice (the Organization of type prov) its "
                            "NPI in the directory before billing.", expression="provider")


def _identifier(resource: dict, system: str) -> str:
    return next((i.get("value", "").strip() for i in resource.get("identifier") or () if i.get("system") == system), "")


def _address(resource: dict) -> x837.Address | None:
    address = (resource.get("address") or [None])[0]
    if isinstance(resource.get("address"), dict):
        address = resource["address"]
    if not address or not address.get("line") or not address.get("city"):
        return None
    return x837.Address(_x12(address["line"][0], 55), _x12(address["city"], 30), address.get("state", ""),
                        address.get("postalCode", ""), _x12(" ".join(address["line"][1:]), 55))


def _person(resource: dict, member_id: str = "") -> x837.Person:
    names = resource.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    born = resource.get("birthDate") or ""
    return x837.Person(_x12(name.get("family", ""), 60), _x12((name.get("given") or [""])[0], 35),
                       dt.date.fromisoformat(born) if len(born) == 10 else None,
                       GENDERS.get(resource.get("gender", ""), "U"), _address(resource), member_id)


def _practitioner(repository: Repository, practitioner_id: str) -> x837.Provider:
    practitioner = repository.read("Practitioner", practitioner_id).as_dict()
    person = _person(practitioner)
    taxonomy = next((c["code"] for q in practitioner.get("qualification") or () for c in q["code"].get("coding") or ()
                     if c.get("system") == systems.PROVIDER_TAXONOMY), "")
    return x837.Provider(person.last_name, _identifier(practitioner, systems.NPI), first_name=person.first_name,
                         taxonomy=taxonomy)


def claim_data(repository: Repository, claim: dict, problems: list[Issue] | None = None) -> x837.ClaimData:
    """The 837P view of a stored Claim; missing facts a payer needs are added to `problems` (or raised)."""
    own = problems is None
    problems = [] if own else problems
    organization = repository.read("Organization", ref_id(claim["provider"], "Organization")).as_dict()
    billing = x837.Provider(_x12(organization.get("name", ""), 60), _identifier(organization, systems.NPI),
                            tax_id=_identifier(organization, systems.TAX_ID), address=_address(organization),
                            taxonomy=next((c["code"] for t in organization.get("type") or () for c in t.get("coding") or ()
                                           if c.get("system") == systems.PROVIDER_TAXONOMY), ""))
    for missing, what in ((billing.npi, "NPI"), (billing.tax_id, "tax id (EIN)"), (billing.address, "address")):
        if not missing:
            problems.append(Issue(f"The practice's {what} is missing: add it to the practice in the directory.",
                                  expression="provider"))
    coverages = sorted(claim["insurance"], key=lambda i: i["sequence"])
    focal = next(i for i in coverages if i.get("focal"))
    coverage = repository.read("Coverage", ref_id(focal["coverage"], "Coverage")).as_dict()
    payer, subscriber, patient, relation = _coverage_parties(repository, coverage)
    payer_id = _identifier(payer, systems.PAYER_ID)
    if not payer_id:
        problems.append(Issue(f"{payer.get('name')} has no payer ID: add it in the payer directory.",
                              expression="insurance"))
    number = claim_status.claim_number(claim)
    diagnoses = [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]]
    lines = []
    for item in claim["item"]:
        lines.append(x837.ServiceLine(
            item["productOrService"]["coding"][0]["code"], Decimal(item["net"]["value"]),
            dt.date.fromisoformat(item["servicedDate"]), units=Decimal(item["quantity"]["value"]),
            modifiers=[m["coding"][0]["code"] for m in item.get("modifier") or ()],
            pointers=item["diagnosisSequence"], control_number=claim_status.line_control_number(number, item["sequence"]),
            place_of_service=item["locationCodeableConcept"]["coding"][0]["code"]))
    data = x837.ClaimData(
        number, billing, _x12(payer.get("name", ""), 60), payer_id, subscriber, diagnoses, lines,
        place_of_service=lines[0].place_of_service if lines else "11",
        frequency=frequency_of(claim),
        responsibility="PST"[min(coverages.index(focal), 2)],
        group_number=next((c.get("value", "") for c in coverage.get("class") or ()
                           if any(x.get("code") == "group" for x in c["type"].get("coding") or ())), ""),
        patient=patient, relationship=relation,
        prior_authorization=(focal.get("preAuthRef") or [""])[0],
        original_reference=((claim.get("related") or [{}])[0].get("reference") or {}).get("value", ""),
    )
    for line in data.lines:
        line.place_of_service = "" if line.place_of_service == data.place_of_service else line.place_of_service
    team = claim.get("careTeam") or []
    if team:
        data.rendering = _practitioner(repository, ref_id(team[0]["provider"], "Practitioner"))
    if claim.get("referral"):
        data.referring = _practitioner(repository, ref_id(claim["referral"], "Practitioner"))
    if claim.get("facility"):
        location = repository.read("Location", ref_id(claim["facility"], "Location")).as_dict()
        data.facility = x837.Provider(_x12(location.get("name", ""), 60), _identifier(location, systems.NPI)
                                      or billing.npi, address=_address(location))
    if claim.get("accident"):
        code = claim["accident"]["type"]["coding"][0]["code"]
        data.accident = x837.Accident({"MVA": "AA", "WPA": "EM"}.get(code, "OA"),
                                      dt.date.fromisoformat(claim["accident"]["date"]),
                                      (claim["accident"].get("locationAddress") or {}).get("state", ""))
    earlier = coverages[:coverages.index(focal)]
    if earlier:
        data.other_payer = _other_payer(repository, earlier[-1], data)
    for person, what in ((subscriber, "subscriber"),):
        if not person.member_id:
            problems.append(Issue(f"The {what}'s member ID is missing on the coverage.", expression="insurance"))
    if own and problems:
        raise ClaimError(issues=problems)
    return data


def _coverage_parties(repository: Repository, coverage: dict):
    payer = repository.read("Organization", ref_id((coverage.get("payor") or [{}])[0], "Organization")).as_dict()
    member_id = (coverage.get("subscriberId") or "").strip() or _identifier(coverage, systems.MEMBER_ID)
    patient_resource = repository.read("Patient", ref_id(coverage["beneficiary"], "Patient")).as_dict()
    relation = next((c.get("code") for c in (coverage.get("relationship") or {}).get("coding") or ()), "self")
    reference = (coverage.get("subscriber") or {}).get("reference") or ""
    if relation == "self" or not reference or reference == f"Patient/{patient_resource['id']}":
        return payer, _person(patient_resource, member_id), None, "18"
    kind, _, subscriber_id = reference.partition("/")
    subscriber = _person(repository.read(kind, subscriber_id).as_dict(), member_id)
    return payer, subscriber, _person(patient_resource), PATIENT_RELATIONSHIP.get(relation, "G8")


def _other_payer(repository: Repository, entry: dict, data: x837.ClaimData) -> x837.OtherPayer:
    coverage = repository.read("Coverage", ref_id(entry["coverage"], "Coverage")).as_dict()
    payer, subscriber, _, relation = _coverage_parties(repository, coverage)
    paid = next((Decimal(e["valueMoney"]["value"]) for e in entry.get("extension", ()) if e["url"] == PRIOR_PAID_URL),
                Decimal("0"))
    other = x837.OtherPayer(_x12(payer.get("name", ""), 60), _identifier(payer, systems.PAYER_ID), subscriber,
                            relationship=relation, paid=paid, adjudicated=clock.now().date())
    remaining = data.total - paid
    if remaining > 0:
        other.adjustments = [x837.Adjustment("PR", "2", remaining)]
    return other
