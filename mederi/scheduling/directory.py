"""The practice's directory as its administrator keeps it: locations with their rooms, and providers.

A location is a FHIR Location (a clinic); a room is a Location with physicalType "ro" that is
partOf its clinic; a provider is a Practitioner with one PractitionerRole per location they work
at, which carries their specialty. Every write goes through `Repository(context)` in one
transaction, so the FHIR API shows exactly what the pages wrote. Every problem comes back as an
issue naming its form field (`expression`), and nothing is stored when there is one.

Nothing is deleted: a location, room or provider no longer in use is made inactive, so its past
appointments keep pointing at it, and booking refuses it (bookable.py).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from zoneinfo import available_timezones

from django.db import transaction

from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import Gone, InvalidRequest, Issue, NotFound
from mederi.core.npi import npi_is_valid
from mederi.fhir import access
from mederi.fhir.repository import Repository
from mederi.scheduling import practice_time, records
from mederi.scheduling.bookable import is_active, is_room, part_of

# PractitionerRole.specialty: a few codes of the c80-practice-codes value set (SNOMED CT).
SPECIALTIES = (
    ("419772000", "Family practice"),
    ("408443003", "General medical practice"),
    ("394802001", "General medicine"),
    ("394537008", "Pediatrics"),
    ("394585009", "Obstetrics and gynecology"),
    ("394579002", "Cardiology"),
    ("394582007", "Dermatology"),
    ("394583002", "Endocrinology"),
    ("394584008", "Gastroenterology"),
    ("394591006", "Neurology"),
    ("394587001", "Psychiatry"),
    ("394801008", "Orthopedics"),
    ("394609007", "General surgery"),
)
# Practitioner.qualification: degrees and licences of HL7 table 0360.
QUALIFICATIONS = (
    ("MD", "Doctor of Medicine (MD)"),
    ("DO", "Doctor of Osteopathy (DO)"),
    ("NP", "Nurse practitioner (NP)"),
    ("PA", "Physician assistant (PA)"),
    ("CNM", "Certified nurse midwife (CNM)"),
    ("RN", "Registered nurse (RN)"),
    ("LPN", "Licensed practical nurse (LPN)"),
    ("PharmD", "Doctor of Pharmacy (PharmD)"),
)
SPECIALTY_NAMES = dict(SPECIALTIES)
QUALIFICATION_NAMES = dict(QUALIFICATIONS)
TIME_ZONES = sorted(available_timezones())

_STATE = re.compile(r"[A-Za-z]{2}")
_POSTAL = re.compile(r"[0-9]{5}(-?[0-9]{4})?")
_PHONE = re.compile(r"[0-9()+. -]+")


# -- what the pages show and send -------------------------------------------------------------------


@dataclass
class LocationDetails:
    name: str = ""
    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    phone: str = ""
    time_zone: str = ""  # "" is the practice's own (MEDERI_PRACTICE_TIME_ZONE)
    active: bool = True


@dataclass
class Room:
    id: str
    name: str
    active: bool


@dataclass
class LocationRow:
    id: str
    name: str
    address: str
    phone: str
    time_zone: str
    active: bool
    rooms: list[Room] = field(default_factory=list)


@dataclass
class ProviderDetails:
    family: str = ""
    given: str = ""
    prefix: str = ""
    qualifications: list[str] = field(default_factory=list)
    npi: str = ""
    specialty: str = ""
    location_ids: list[str] = field(default_factory=list)
    active: bool = True


@dataclass
class ProviderRow:
    id: str
    name: str
    qualifications: str
    npi: str
    specialty: str
    locations: str
    active: bool


def _fail(problems: dict[str, str]) -> None:
    if problems:
        raise InvalidRequest([Issue(message, expression=name) for name, message in problems.items()])


def _clean(resource: dict) -> dict:
    return {key: value for key, value in resource.items() if value not in ([], None, "", {})}


def _phone_problem(phone: str) -> str | None:
    if phone and (not _PHONE.fullmatch(phone) or len(re.sub(r"\D", "", phone)) < 7):
        return "Enter a phone number of at least 7 digits, such as 217-555-0100."
    return None


# -- locations ------------------------------------------------------------------------------------------


def _all_locations(repo: Repository) -> list:
    return repo.search("Location", [("_count", "1000")], first_page_only=True).matches


def _address_text(location: dict) -> str:
    address = location.get("address") or {}
    parts = [*(address.get("line") or []), address.get("city", ""),
             " ".join(x for x in (address.get("state", ""), address.get("postalCode", "")) if x)]
    return ", ".join(p for p in parts if p)


def _phone_of(resource: dict) -> str:
    return next((t.get("value", "") for t in resource.get("telecom") or () if t.get("system") == "phone"), "")


def _time_zone_of(location: dict) -> str:
    return next((e.get("valueCode", "") for e in location.get("extension") or ()
                 if e.get("url") == systems.TIMEZONE_EXTENSION), "")


def location_list(context: Context) -> list[LocationRow]:
    """The practice's locations (not rooms) by name, each with its rooms."""
    stored = [(s.logical_id, s.as_dict()) for s in _all_locations(Repository(context))]
    rooms: dict[str, list[Room]] = {}
    for logical_id, location in stored:
        if is_room(location):
            rooms.setdefault(part_of(location), []).append(Room(logical_id, location.get("name") or logical_id,
                                                                is_active(location)))
    rows = [LocationRow(logical_id, location.get("name") or logical_id, _address_text(location), _phone_of(location),
                        _time_zone_of(location), is_active(location),
                        sorted(rooms.get(logical_id, []), key=lambda r: r.name.lower()))
            for logical_id, location in stored if not is_room(location)]
    return sorted(rows, key=lambda row: (row.name.lower(), row.id))


def _read_location(repo: Repository, location_id: str) -> tuple[dict, int]:
    try:
        stored = repo.read("Location", location_id)
    except (NotFound, Gone):
        raise NotFound(f"There is no location '{location_id}'.") from None
    location = stored.as_dict()
    if is_room(location):
        raise NotFound(f"'{location.get('name') or location_id}' is a room, not a location.")
    return location, stored.version_id


def location(context: Context, location_id: str) -> tuple[LocationDetails, list[Room]]:
    """A location as its page edits it, and its rooms. Raises NotFound for a room or an unknown id."""
    current, _ = _read_location(Repository(context), location_id)
    address = current.get("address") or {}
    details = LocationDetails(
        name=current.get("name", ""), address_line=(address.get("line") or [""])[0], city=address.get("city", ""),
        state=address.get("state", ""), postal_code=address.get("postalCode", ""), phone=_phone_of(current),
        time_zone=_time_zone_of(current), active=is_active(current))
    return details, rooms_of(location_id, context=context)


def rooms_of(location_id: str, *, context: Context | None = None) -> list[Room]:
    """The rooms of a location, by name (inactive ones too)."""
    repo = Repository(context or Context.system("scheduling"))
    found = repo.search("Location", [("partof", f"Location/{location_id}"), ("_count", "1000")],
                        first_page_only=True).matches
    rooms = [Room(s.logical_id, s.as_dict().get("name") or s.logical_id, is_active(s.as_dict()))
             for s in found if is_room(s.as_dict())]
    return sorted(rooms, key=lambda room: (room.name.lower(), room.id))


def location_problems(repo: Repository, details: LocationDetails, location_id: str | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    name = details.name.strip()
    if not name:
        problems["name"] = "Enter the location's name, such as Riverside main clinic."
    elif len(name) > 200:
        problems["name"] = "Keep the name under 200 characters."
    else:
        for stored in _all_locations(repo):
            other = stored.as_dict()
            if stored.logical_id != location_id and not is_room(other) \
                    and (other.get("name") or "").strip().lower() == name.lower():
                problems["name"] = f"There is already a location named {other.get('name')}: choose another name."
                break
    if details.state.strip() and not _STATE.fullmatch(details.state.strip()):
        problems["state"] = "Use the two-letter state code, such as IL."
    if details.postal_code.strip() and not _POSTAL.fullmatch(details.postal_code.strip()):
        problems["postal_code"] = "Use a ZIP code such as 62701 or 62701-1234."
    problem = _phone_problem(details.phone.strip())
    if problem:
        problems["phone"] = problem
    if details.time_zone and details.time_zone not in TIME_ZONES:
        problems["time_zone"] = (f"'{details.time_zone}' is not a time zone name; choose one from the list, "
                                 "such as America/Chicago, or leave it empty for the practice's own.")
    return problems


def _location_resource(current: dict | None, details: LocationDetails, location_id: str) -> dict:
    resource = dict(current or {"resourceType": "Location", "mode": "instance"})
    resource.pop("meta", None)
    resource["id"] = location_id
    resource["name"] = details.name.strip()
    resource["status"] = "active" if details.active else "inactive"
    resource["address"] = _clean({
        "line": [details.address_line.strip()] if details.address_line.strip() else None,
        "city": details.city.strip(), "state": details.state.strip().upper(),
        "postalCode": details.postal_code.strip()})
    telecom = [t for t in resource.get("telecom") or () if t.get("system") != "phone"]
    if details.phone.strip():
        telecom.insert(0, {"system": "phone", "value": details.phone.strip(), "use": "work"})
    resource["telecom"] = telecom
    extensions = [e for e in resource.get("extension") or () if e.get("url") != systems.TIMEZONE_EXTENSION]
    if details.time_zone:
        extensions.append({"url": systems.TIMEZONE_EXTENSION, "valueCode": details.time_zone})
    resource["extension"] = extensions
    return _clean(resource)


def save_location(context: Context, details: LocationDetails, *, location_id: str | None = None) -> str:
    """Create (no `location_id`) or change a location; returns its id. Deactivating is `active=False`."""
    access.require(context, "Location", "update" if location_id else "create")
    repo = Repository(context)
    current, version = _read_location(repo, location_id) if location_id else (None, None)
    _fail(location_problems(repo, details, location_id))
    location_id = location_id or str(uuid.uuid4())
    resource = _location_resource(current, details, location_id)
    with transaction.atomic():
        if current is None:
            repo.create(resource, logical_id=location_id)
        else:
            repo.update("Location", location_id, resource, if_match=version)
    return location_id


# -- rooms ---------------------------------------------------------------------------------------------------


def _room_name_problem(repo: Repository, clinic_id: str, name: str, room_id: str | None) -> str | None:
    if not name:
        return "Enter the room's name, such as Exam 1."
    if len(name) > 100:
        return "Keep the room's name under 100 characters."
    for room in rooms_of(clinic_id, context=repo.context):
        if room.id != room_id and room.name.strip().lower() == name.lower():
            return f"This location already has a room named {room.name}."
    return None


def add_room(context: Context, location_id: str, name: str) -> str:
    """Add a room to a location; returns the room's id."""
    access.require(context, "Location", "create")
    repo = Repository(context)
    clinic, _ = _read_location(repo, location_id)
    name = (name or "").strip()
    _fail({"room_name": problem} if (problem := _room_name_problem(repo, location_id, name, None)) else {})
    room_id = str(uuid.uuid4())
    resource = _clean({
        "resourceType": "Location", "status": "active", "name": name, "mode": "instance",
        "physicalType": {"coding": [{"system": systems.LOCATION_PHYSICAL_TYPE, "code": systems.ROOM,
                                     "display": "Room"}], "text": "Room"},
        "partOf": {"reference": f"Location/{location_id}"},
        "managingOrganization": clinic.get("managingOrganization"),
    })
    with transaction.atomic():
        repo.create(resource, logical_id=room_id)
    return room_id


def save_room(context: Context, room_id: str, *, name: str, active: bool) -> str:
    """Rename a room, or take it out of use (`active=False`) or back; returns its location's id."""
    access.require(context, "Location", "update")
    repo = Repository(context)
    try:
        stored = repo.read("Location", room_id)
    except (NotFound, Gone):
        raise NotFound(f"There is no room '{room_id}'.") from None
    room = stored.as_dict()
    if not is_room(room):
        raise NotFound(f"'{room.get('name') or room_id}' is a location, not a room.")
    name = (name or "").strip()
    _fail({"room_name": problem} if (problem := _room_name_problem(repo, part_of(room), name, room_id)) else {})
    changed = {**{k: v for k, v in room.items() if k != "meta"}, "name": name,
               "status": "active" if active else "inactive"}
    with transaction.atomic():
        repo.update("Location", room_id, changed, if_match=stored.version_id)
    return part_of(room)


# -- providers -----------------------------------------------------------------------------------------------


def _npi_of(practitioner: dict) -> str:
    return next((i.get("value", "") for i in practitioner.get("identifier") or () if i.get("system") == systems.NPI), "")


def _codes(concepts, system: str) -> list[str]:
    return [c.get("code", "") for concept in concepts or () for c in (concept or {}).get("coding") or ()
            if c.get("system") == system and c.get("code")]


def _qualifications_of(practitioner: dict) -> list[str]:
    return _codes([q.get("code") for q in practitioner.get("qualification") or ()], systems.QUALIFICATION)


def _roles_of(repo: Repository, practitioner_id: str) -> list:
    return repo.search("PractitionerRole", [("practitioner", f"Practitioner/{practitioner_id}"), ("_count", "1000")],
                       first_page_only=True).matches


def _role_locations(role: dict) -> list[str]:
    return [ref.partition("/")[2] for ref in ((r or {}).get("reference") or "" for r in role.get("location") or ())
            if ref.startswith("Location/")]


def _official_name(practitioner: dict) -> dict:
    names = practitioner.get("name") or [{}]
    return next((n for n in names if n.get("use") == "official"), names[0])


def provider_list(context: Context) -> list[ProviderRow]:
    """Every provider in the record by name: qualifications, NPI, specialty and the locations they work at."""
    repo = Repository(context)
    people = repo.search("Practitioner", [("_count", "1000")], first_page_only=True).matches
    roles = repo.search("PractitionerRole", [("_count", "1000")], first_page_only=True).matches
    places = {row.id: row.name for row in location_list(context)}
    working: dict[str, list[str]] = {}
    specialty: dict[str, str] = {}
    for stored in roles:
        role = stored.as_dict()
        practitioner_id = ((role.get("practitioner") or {}).get("reference") or "").partition("/")[2]
        if not role.get("active", True):
            continue
        working.setdefault(practitioner_id, []).extend(places.get(loc, loc) for loc in _role_locations(role))
        for concept in role.get("specialty") or ():
            specialty.setdefault(practitioner_id, concept.get("text") or next(
                (c.get("display", "") for c in concept.get("coding") or ()), ""))
    rows = []
    for stored in people:
        practitioner = stored.as_dict()
        rows.append(ProviderRow(
            stored.logical_id, _display_name(practitioner, stored.logical_id),
            ", ".join(_qualifications_of(practitioner)), _npi_of(practitioner), specialty.get(stored.logical_id, ""),
            ", ".join(sorted(dict.fromkeys(working.get(stored.logical_id, [])))), is_active(practitioner)))
    return sorted(rows, key=lambda row: (not row.active, row.name.lower(), row.id))


def _display_name(practitioner: dict, fallback: str) -> str:
    """"Ana Ruiz" with a listing's prefix: "Dr. Ana Ruiz"."""
    name = _official_name(practitioner)
    words = [*(name.get("prefix") or []), *(name.get("given") or []), name.get("family", "")]
    return " ".join(w for w in words if w) or name.get("text") or records.person_name(practitioner, fallback)


def provider(context: Context, practitioner_id: str) -> ProviderDetails:
    """A provider as its page edits it. Raises NotFound for an unknown id."""
    repo = Repository(context)
    try:
        practitioner = repo.read("Practitioner", practitioner_id).as_dict()
    except (NotFound, Gone):
        raise NotFound(f"There is no provider '{practitioner_id}'.") from None
    name = _official_name(practitioner)
    location_ids, specialty = [], ""
    for stored in _roles_of(repo, practitioner_id):
        role = stored.as_dict()
        if role.get("active", True) or not is_active(practitioner):
            location_ids += [loc for loc in _role_locations(role) if loc not in location_ids]
            specialty = specialty or next(iter(_codes(role.get("specialty"), systems.PRACTICE_SETTING)), "")
    return ProviderDetails(
        family=name.get("family", ""), given=" ".join(name.get("given") or []),
        prefix=" ".join(name.get("prefix") or []), qualifications=_qualifications_of(practitioner),
        npi=_npi_of(practitioner), specialty=specialty, location_ids=location_ids, active=is_active(practitioner))


def npi_problem(npi: str) -> str | None:
    """What is wrong with an NPI, in words; None when it is well formed."""
    if not re.fullmatch(r"[0-9]{10}", npi):
        digits = len(re.sub(r"\D", "", npi))
        return f"An NPI is exactly 10 digits; this has {digits} digit{'s' if digits != 1 else ''}" + (
            " and other characters." if digits != len(npi) else ".")
    if not npi_is_valid(npi):
        expected = next(d for d in "0123456789" if npi_is_valid(npi[:9] + d))
        return (f"{npi} is not a valid NPI: by the NPI check-digit rule (the Luhn formula over 80840 and the "
                f"first nine digits) the last digit would be {expected}, not {npi[9]}. Check the number for a "
                "typing mistake.")
    return None


def provider_problems(repo: Repository, details: ProviderDetails, practitioner_id: str | None,
                      current_locations=()) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not details.family.strip():
        problems["family"] = "Enter the provider's family name."
    elif len(details.family.strip()) > 100:
        problems["family"] = "Keep the family name under 100 characters."
    if len(details.given.strip()) > 100:
        problems["given"] = "Keep the given names under 100 characters."
    if len(details.prefix.strip()) > 20:
        problems["prefix"] = "A title is short, such as Dr."
    unknown = [q for q in details.qualifications if q not in QUALIFICATION_NAMES]
    if unknown:
        problems["qualifications"] = f"Choose qualifications from the list ('{unknown[0]}' is not one)."
    if details.specialty and details.specialty not in SPECIALTY_NAMES:
        problems["specialty"] = f"Choose a specialty from the list ('{details.specialty}' is not one)."
    npi = re.sub(r"\s", "", details.npi)
    if npi:
        problem = npi_problem(npi)
        if problem is None:
            found = repo.search("Practitioner", [("identifier", f"{systems.NPI}|{npi}"), ("_count", "5")],
                                first_page_only=True).matches
            others = [s for s in found if s.logical_id != practitioner_id]
            if others:
                problem = (f"{_display_name(others[0].as_dict(), others[0].logical_id)} already has the NPI {npi}: "
                           "each provider has their own.")
        if problem:
            problems["npi"] = problem
    problem = _locations_problem(repo, details.location_ids, current_locations)
    if problem:
        problems["location_ids"] = problem
    return problems


def _locations_problem(repo: Repository, location_ids, current_locations) -> str | None:
    for location_id in location_ids:
        try:
            place = repo.read("Location", location_id).as_dict()
        except (NotFound, Gone):
            return f"There is no location '{location_id}'. Choose from the practice's locations."
        name = place.get("name") or location_id
        if is_room(place):
            return f"{name} is a room, not a location: choose the clinic it belongs to."
        if not is_active(place) and location_id not in current_locations:
            return f"{name} is inactive: reactivate it before adding providers to it."
    return None


def _practitioner_resource(current: dict | None, details: ProviderDetails, practitioner_id: str) -> dict:
    resource = dict(current or {"resourceType": "Practitioner"})
    resource.pop("meta", None)
    resource["id"] = practitioner_id
    resource["active"] = details.active
    name = _clean({"use": "official", "family": details.family.strip(), "given": details.given.split(),
                   "prefix": details.prefix.split()})
    others = [n for n in resource.get("name") or () if n is not _official_name(resource)] if current else []
    resource["name"] = [name, *others]
    npi = re.sub(r"\s", "", details.npi)
    identifiers = [i for i in resource.get("identifier") or () if i.get("system") != systems.NPI]
    resource["identifier"] = identifiers + ([{"system": systems.NPI, "value": npi}] if npi else [])
    kept = [q for q in resource.get("qualification") or ()
            if not _codes([q.get("code")], systems.QUALIFICATION)]
    resource["qualification"] = kept + [
        {"code": {"coding": [{"system": systems.QUALIFICATION, "code": code, "display": QUALIFICATION_NAMES[code]}],
                  "text": code}} for code in details.qualifications]
    return _clean(resource)


def _specialty(code: str) -> list[dict]:
    if not code:
        return []
    return [{"coding": [{"system": systems.PRACTICE_SETTING, "code": code, "display": SPECIALTY_NAMES[code]}],
             "text": SPECIALTY_NAMES[code]}]


def _role_writes(repo: Repository, practitioner_id: str, details: ProviderDetails, existing: list
                 ) -> list[tuple[str | None, dict, int | None]]:
    """(role id or None for a new one, resource, version) to write: one active role per chosen
    location, reusing a role that names exactly that location; every other role made inactive."""
    chosen: dict[str, object] = {}
    for stored in sorted(existing, key=lambda s: not s.as_dict().get("active", True)):
        places = _role_locations(stored.as_dict())
        if len(places) == 1 and places[0] in details.location_ids and places[0] not in chosen:
            chosen[places[0]] = stored
    code = next((s.as_dict()["code"] for s in existing if s.as_dict().get("code")), None)
    writes = []
    for location_id in details.location_ids:
        stored = chosen.get(location_id)
        role = dict(stored.as_dict()) if stored else {
            "resourceType": "PractitionerRole", "practitioner": {"reference": f"Practitioner/{practitioner_id}"},
            "location": [{"reference": f"Location/{location_id}"}], "code": code,
            "organization": repo.read("Location", location_id).as_dict().get("managingOrganization")}
        role.pop("meta", None)
        role["active"] = details.active
        role["specialty"] = _specialty(details.specialty)
        writes.append((stored.logical_id if stored else None, _clean(role), stored.version_id if stored else None))
    kept = {id(s) for s in chosen.values()}
    for stored in existing:
        if id(stored) not in kept and stored.as_dict().get("active", True):
            role = {k: v for k, v in stored.as_dict().items() if k != "meta"}
            writes.append((stored.logical_id, {**role, "active": False}, stored.version_id))
    return writes


def save_provider(context: Context, details: ProviderDetails, *, practitioner_id: str | None = None) -> str:
    """Create (no `practitioner_id`) or change a provider and their roles at locations; returns the id."""
    access.require(context, "Practitioner", "update" if practitioner_id else "create")
    access.require(context, "PractitionerRole", "update")
    repo = Repository(context)
    current, version, existing = None, None, []
    if practitioner_id:
        try:
            stored = repo.read("Practitioner", practitioner_id)
        except (NotFound, Gone):
            raise NotFound(f"There is no provider '{practitioner_id}'.") from None
        current, version = stored.as_dict(), stored.version_id
        existing = _roles_of(repo, practitioner_id)
    details.location_ids = list(dict.fromkeys(details.location_ids))
    details.qualifications = list(dict.fromkeys(details.qualifications))
    current_locations = {loc for s in existing for loc in _role_locations(s.as_dict())}
    _fail(provider_problems(repo, details, practitioner_id, current_locations))
    practitioner_id = practitioner_id or str(uuid.uuid4())
    resource = _practitioner_resource(current, details, practitioner_id)
    writes = _role_writes(repo, practitioner_id, details, existing)
    with transaction.atomic(), repo.atomic():
        if current is None:
            repo.create(resource, logical_id=practitioner_id)
        else:
            repo.update("Practitioner", practitioner_id, resource, if_match=version)
        for role_id, role, role_version in writes:
            if role_id is None:
                repo.create(role, logical_id=str(uuid.uuid4()))
            else:
                repo.update("PractitionerRole", role_id, {**role, "id": role_id}, if_match=role_version)
    return practitioner_id


def time_zone_label(name: str) -> str:
    return name or f"Practice time ({practice_time.zone().key})"
