"""Small builders of valid R4 resources for tests. Every builder returns a plain dict."""

from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def patient(id: str | None = None, *, family: str | None = None, given=(), birth: str | None = None,
            **fields) -> dict:
    resource: dict = {"resourceType": "Patient"}
    if id:
        resource["id"] = id
    if family or given:
        name: dict = {}
        if family:
            name["family"] = family
        if given:
            name["given"] = list(given)
        resource["name"] = [name]
    if birth:
        resource["birthDate"] = birth
    resource.update(fields)
    return resource


def observation(id: str | None = None, *, code: dict | None = None, subject: str | dict | None = None,
                status: str = "final", **fields) -> dict:
    resource: dict = {
        "resourceType": "Observation",
        "status": status,
        "code": code or {"coding": [{"system": LOINC, "code": "8480-6"}]},
    }
    if id:
        resource["id"] = id
    if subject is not None:
        resource["subject"] = {"reference": subject} if isinstance(subject, str) else subject
    resource.update(fields)
    return resource


def encounter(id: str | None = None, *, subject: str | None = None, period: dict | None = None,
              **fields) -> dict:
    resource: dict = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    }
    if id:
        resource["id"] = id
    if subject:
        resource["subject"] = {"reference": subject}
    if period:
        resource["period"] = period
    resource.update(fields)
    return resource


def group(id: str | None = None, *, name: str | None = None) -> dict:
    resource: dict = {"resourceType": "Group", "type": "person", "actual": True}
    if id:
        resource["id"] = id
    if name:
        resource["name"] = name
    return resource


def risk_assessment(id: str | None = None, *, subject: str, probability: float) -> dict:
    resource: dict = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": subject},
        "prediction": [{"probabilityDecimal": probability}],
    }
    if id:
        resource["id"] = id
    return resource


def value_set(id: str | None = None, *, url: str) -> dict:
    resource: dict = {"resourceType": "ValueSet", "status": "active", "url": url}
    if id:
        resource["id"] = id
    return resource


def quantity(value: float, unit: str | None = None, *, system: str | None = None, code: str | None = None) -> dict:
    q: dict = {"value": value}
    if unit:
        q["unit"] = unit
    if system:
        q["system"] = system
    if code:
        q["code"] = code
    return q
