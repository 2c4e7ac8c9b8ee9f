"""What the practice's directory lets the front desk book: active locations, active providers,
and rooms, each of which holds one appointment at a time.

A room is a FHIR Location with physicalType "ro" that is partOf its clinic Location (kept on the
directory pages, directory.py). An Appointment books it as one more Location participant
(records.room_participant). A booking that names a room takes the room's lock rows as well as
the provider's (the same BookingLock rows, taken in one sorted order) and then asks the record's
own index what holds the room (occupancy.busy_by_location), in the transaction that writes: of
two bookings of one room at the same moment, one wins, exactly as for a provider.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from mederi.core import systems
from mederi.fhir import jsonio
from mederi.scheduling import occupancy, practice_time
from mederi.scheduling.availability import Interval
from mederi.scheduling.errors import BookingError, SlotTaken


def is_room(location: dict) -> bool:
    return any(c.get("system") == systems.LOCATION_PHYSICAL_TYPE and c.get("code") == systems.ROOM
               for c in (location.get("physicalType") or {}).get("coding") or ())


def part_of(location: dict) -> str:
    """The id of the Location this one is part of ("" when none)."""
    reference = (location.get("partOf") or {}).get("reference") or ""
    return reference.partition("/")[2] if reference.startswith("Location/") else ""


def is_active(resource: dict) -> bool:
    """A Location is in use unless its status says otherwise; a Practitioner unless active is false."""
    if resource.get("resourceType") == "Location":
        return resource.get("status", "active") == "active"
    return resource.get("active", True) is not False


def lock_key(room_id: str) -> str:
    """The BookingLock key of a room: never a practitioner id (those cannot hold '/'), at most 64 characters."""
    key = f"Location/{room_id}"
    return key if len(key) <= 64 else "Location/" + hashlib.sha256(room_id.encode()).hexdigest()[:40]


def _contents(resource_type: str, ids) -> dict[str, dict]:
    return {key: jsonio.loads(content) for key, content in occupancy.current_contents(resource_type, ids).items()}


def require_open(practitioner_id: str, location_id: str) -> None:
    """Refuse a provider or location that is out of use, or a room given as the location.
    (Existence and the caller's access are checked before, by the booking services.)"""
    provider = _contents("Practitioner", [practitioner_id]).get(practitioner_id)
    if provider is not None and not is_active(provider):
        raise BookingError.at("practitioner_id", f"{_person(provider, practitioner_id)} is marked inactive in the "
                                                 "directory and cannot be booked. Choose another provider.")
    place = _contents("Location", [location_id]).get(location_id)
    if place is None:
        return
    name = place.get("name") or location_id
    if is_room(place):
        clinic = _contents("Location", [part_of(place)]).get(part_of(place)) or {}
        raise BookingError.at("location_id", f"{name} is a room; choose its clinic "
                                             f"({clinic.get('name') or 'the clinic'}) as the location and the room "
                                             "under Room.")
    if not is_active(place):
        raise BookingError.at("location_id", f"{name} is inactive in the directory and takes no bookings. "
                                             "Choose another location.")


def _person(resource: dict, fallback: str) -> str:
    from mederi.scheduling.records import person_name

    return person_name(resource, fallback)


def require_room(room_id: str, location_id: str) -> str:
    """Check that `room_id` is an active room of the location; returns its name."""
    room = _contents("Location", [room_id]).get(room_id)
    if room is None or not is_room(room):
        raise BookingError.at("room_id", f"There is no room '{room_id}' in the directory. Choose one of the "
                                         "location's rooms, or no room.")
    name = room.get("name") or room_id
    clinic_id = part_of(room)
    if clinic_id != location_id:
        names = {key: value.get("name") or key for key, value in _contents("Location", [clinic_id, location_id]).items()}
        raise BookingError.at("room_id", f"{name} is a room of {names.get(clinic_id, clinic_id or 'no location')}, "
                                         f"not of {names.get(location_id, location_id)}. Choose a room there, "
                                         "or no room.")
    if not is_active(room):
        raise BookingError.at("room_id", f"{name} is out of use (inactive). Choose another room, or no room.")
    return name


def check_room_free(room_id: str, room_name: str, start: datetime, end: datetime, *, exclude_ids=()) -> None:
    """Raise SlotTaken when another occupying appointment holds the room during [start, end)."""
    wanted = Interval(start, end)
    busy = occupancy.busy_by_location(start, end, [room_id], exclude_ids=exclude_ids).get(room_id, [])
    for taken in busy:
        if Interval(taken.start, taken.end).overlaps(wanted):
            day = practice_time.day_text(practice_time.local_day(taken.start))
            raise SlotTaken.at("room_id", f"{room_name} is taken from {practice_time.clock_text(taken.start)} to "
                                          f"{practice_time.clock_text(taken.end)} on {day}. Choose another room "
                                          "or another time.")


def names(room_ids) -> dict[str, str]:
    """Room (or any Location) names by id, for calendars and lists."""
    return {key: value.get("name") or key for key, value in _contents("Location", room_ids).items()}
