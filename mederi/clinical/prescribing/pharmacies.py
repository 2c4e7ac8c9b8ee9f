"""The pharmacy directory: each pharmacy is an Organization of type `pharmacy` carrying its NCPDP
id (the 7 digits the pharmacy network routes by). Kept by whoever holds `directory.write`; nothing
is deleted, a pharmacy out of use is made inactive and is no longer offered to prescribers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue
from mederi.fhir.repository import Repository

KIND = "pharmacy"
NCPDP_FORMAT = re.compile(r"[0-9]{7}")
PHONE_FORMAT = re.compile(r"[0-9()+\-. ]{7,20}")


@dataclass(frozen=True)
class Pharmacy:
    id: str
    name: str
    ncpdp: str
    phone: str
    address: str
    active: bool

    @property
    def label(self) -> str:
        return f"{self.name} (NCPDP {self.ncpdp})"


def _identifier(resource: dict, system: str) -> str:
    return next((i.get("value", "") for i in resource.get("identifier") or [] if i.get("system") == system), "")


def from_resource(resource: dict) -> Pharmacy:
    address = (resource.get("address") or [{}])[0]
    where = ", ".join(filter(None, [" ".join(address.get("line") or []), address.get("city"),
                                    " ".join(filter(None, [address.get("state"), address.get("postalCode")]))]))
    phone = next((t.get("value", "") for t in resource.get("telecom") or [] if t.get("system") == "phone"), "")
    return Pharmacy(resource["id"], resource.get("name", ""), _identifier(resource, systems.NCPDP_ID), phone, where,
                    resource.get("active", True))


def pharmacies(context: Context, include_inactive: bool = False) -> list[Pharmacy]:
    found = Repository(context).search("Organization", [("type", f"{systems.PHARMACY}|{KIND}"), ("_count", "500")])
    listed = [from_resource(s.as_dict()) for s in found.matches]
    return sorted((p for p in listed if include_inactive or p.active), key=lambda p: p.name.lower())


def pharmacy(context: Context, pharmacy_id: str) -> Pharmacy:
    resource = Repository(context).read("Organization", pharmacy_id).as_dict()
    if not any(c.get("code") == KIND for t in resource.get("type") or [] for c in t.get("coding") or []):
        raise InvalidRequest.single("that organization is not a pharmacy", expression="pharmacy")
    return from_resource(resource)


def _checked(context: Context, data: dict, pharmacy_id: str | None) -> dict:
    issues = []
    name = (data.get("name") or "").strip()
    ncpdp = re.sub(r"\s", "", data.get("ncpdp") or "")
    phone = (data.get("phone") or "").strip()
    if not name:
        issues.append(Issue("Give the pharmacy's name.", expression="name"))
    elif len(name) > 200:
        issues.append(Issue("The name is too long (200 characters at most).", expression="name"))
    if not NCPDP_FORMAT.fullmatch(ncpdp):
        issues.append(Issue(f"'{ncpdp}' is not an NCPDP id: it is 7 digits (ask the pharmacy, or find it on its "
                            "claims paperwork).", expression="ncpdp"))
    elif any(p.ncpdp == ncpdp and p.id != pharmacy_id for p in pharmacies(context, include_inactive=True)):
        issues.append(Issue(f"Another pharmacy in the directory already has NCPDP id {ncpdp}.", expression="ncpdp"))
    if phone and not PHONE_FORMAT.fullmatch(phone):
        issues.append(Issue("Give the phone as digits, like 217-555-0199.", expression="phone"))
    state = (data.get("state") or "").strip().upper()
    if state and not re.fullmatch(r"[A-Z]{2}", state):
        issues.append(Issue("The state is its two-letter code, like IL.", expression="state"))
    postal = (data.get("postal_code") or "").strip()
    if postal and not re.fullmatch(r"[0-9]{5}(-[0-9]{4})?", postal):
        issues.append(Issue("The ZIP code is 5 digits (or ZIP+4).", expression="postal_code"))
    if issues:
        raise InvalidRequest(issues)
    body = {"resourceType": "Organization", "active": True, "name": name,
            "identifier": [{"system": systems.NCPDP_ID, "value": ncpdp}],
            "type": [{"coding": [{"system": systems.PHARMACY, "code": KIND, "display": "Pharmacy"}],
                      "text": "Pharmacy"}]}
    if phone:
        body["telecom"] = [{"system": "phone", "value": phone, "use": "work"}]
    address = {k: v for k, v in {"line": [data["line"].strip()] if (data.get("line") or "").strip() else None,
                                 "city": (data.get("city") or "").strip(), "state": state,
                                 "postalCode": postal}.items() if v}
    if address:
        body["address"] = [address]
    return body


def save_pharmacy(context: Context, data: dict, pharmacy_id: str | None = None) -> Pharmacy:
    """Add a pharmacy, or change one (`pharmacy_id`); each problem is raised at its field."""
    body = _checked(context, data, pharmacy_id)
    repo = Repository(context)
    if pharmacy_id is None:
        return from_resource(repo.create(body).stored.as_dict())
    current = repo.read("Organization", pharmacy_id)
    body["id"] = pharmacy_id
    body["active"] = current.as_dict().get("active", True)
    return from_resource(repo.update("Organization", pharmacy_id, body, if_match=current.version_id).stored.as_dict())


def set_active(context: Context, pharmacy_id: str, active: bool) -> Pharmacy:
    repo = Repository(context)
    current = repo.read("Organization", pharmacy_id)
    body = current.as_dict()
    body["active"] = active
    return from_resource(repo.update("Organization", pharmacy_id, body, if_match=current.version_id).stored.as_dict())
