"""The FHIR shapes scheduling writes and reads: Appointment and Schedule.

An Appointment carries its patient, practitioner and location as participants, its type as a
coding of the practice's own system, start and end as UTC instants, and the finer front-desk
stage (arrived, checked-in, in-room, checked-out) in the `urn:mederi:appointment-stage`
extension; in-room and checked-out have no FHIR status of their own, so the status stays
checked-in / fulfilled while the extension says where the visit is.

A booked room is one more Location participant, marked with the participant type
`urn:mederi:appointment-participant|room`, so the clinic stays the appointment's location
(`location_id`) and the room (`room_id`) is told apart without reading the Location.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from mederi.core import systems
from mederi.scheduling import practice_time

STAGE_URL = "urn:mederi:appointment-stage"
STAGES = ("arrived", "checked-in", "in-room", "checked-out")
# Statuses whose appointments take up the provider's time.
OCCUPYING = ("booked", "arrived", "checked-in", "pending")
# What each status and stage is called on the pages.
STATUS_LABELS = {
    "proposed": "Offered", "pending": "Pending", "booked": "Booked", "arrived": "Arrived", "fulfilled": "Done",
    "cancelled": "Cancelled", "noshow": "No-show", "entered-in-error": "Entered in error",
    "checked-in": "Checked in", "waitlist": "Waitlist",
}
STAGE_LABELS = {"arrived": "Arrived", "checked-in": "Checked in", "in-room": "In room", "checked-out": "Checked out"}

# http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason: the codes a front desk uses.
CANCEL_REASONS = (
    ("pat", "Patient"),
    ("pat-fb", "Patient: feeling better"),
    ("pat-lt", "Patient: lack of transportation"),
    ("pat-mv", "Patient: moved"),
    ("pat-ucp", "Patient: changed provider"),
    ("pat-swl", "Patient: scheduled from waitlist"),
    ("prov", "Provider"),
    ("prov-pers", "Provider: personal"),
    ("prov-edu", "Provider: education or meeting"),
    ("prov-hosp", "Provider: at the hospital"),
    ("maint", "Equipment maintenance"),
    ("oth-weath", "Weather"),
    ("oth-err", "Booked in error"),
    ("other", "Other"),
)
CANCEL_REASON_NAMES = dict(CANCEL_REASONS)


@dataclass
class AppointmentView:
    """What the pages and services need of one stored Appointment."""

    id: str
    status: str
    start: datetime | None
    end: datetime | None
    minutes: int | None = None
    type_code: str = ""
    type_display: str = ""
    patient_id: str | None = None
    practitioner_ids: list[str] = field(default_factory=list)
    location_id: str | None = None
    room_id: str | None = None
    stage: str | None = None
    comment: str = ""
    cancel_code: str = ""
    cancel_text: str = ""
    series_id: str | None = None
    version: int | None = None
    pk: int | None = None

    @property
    def practitioner_id(self) -> str | None:
        return self.practitioner_ids[0] if self.practitioner_ids else None

    @property
    def occupies(self) -> bool:
        return self.status in OCCUPYING and self.start is not None and self.end is not None

    @property
    def state_label(self) -> str:
        """The stage when there is one (In room), else the status (Booked)."""
        if self.stage and self.status in ("arrived", "checked-in", "fulfilled"):
            return STAGE_LABELS.get(self.stage, self.stage)
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def state_key(self) -> str:
        """A CSS-safe key of the state shown: booked, in-room, noshow, ..."""
        if self.stage and self.status in ("arrived", "checked-in", "fulfilled"):
            return self.stage
        return self.status

    @property
    def local_start(self) -> datetime | None:
        return practice_time.to_local(self.start) if self.start else None

    @property
    def local_end(self) -> datetime | None:
        return practice_time.to_local(self.end) if self.end else None


def _split_reference(reference) -> tuple[str, str]:
    """"Practitioner/dr-ruiz" -> ("Practitioner", "dr-ruiz"); ("", "") for anything else."""
    if not isinstance(reference, str) or "/" not in reference:
        return "", ""
    kind, _, rest = reference.partition("/")
    return kind, rest.split("/_history/", 1)[0]


def view_of(resource: dict | str, *, pk: int | None = None) -> AppointmentView:
    """Read a stored Appointment (parsed, or its JSON text) into an AppointmentView."""
    if isinstance(resource, (str, bytes)):
        resource = orjson.loads(resource)  # no decimals are read from an Appointment: the fast parser will do
    patient_id, practitioners, location_id, room_id = None, [], None, None
    for participant in resource.get("participant") or ():
        kind, found = _split_reference(((participant or {}).get("actor") or {}).get("reference"))
        if kind == "Practitioner" and found:
            practitioners.append(found)
        elif kind == "Patient" and patient_id is None:
            patient_id = found or None
        elif kind == "Location" and is_room_participant(participant):
            room_id = room_id or found or None
        elif kind == "Location" and location_id is None:
            location_id = found or None
    coding = next(iter((resource.get("appointmentType") or {}).get("coding") or ()), {}) or {}
    stage = None
    for extension in resource.get("extension") or ():
        if extension.get("url") == STAGE_URL:
            stage = extension.get("valueCode")
    reason = resource.get("cancelationReason") or {}
    reason_code = next(iter(reason.get("coding") or ()), {}).get("code", "")
    series = next((i.get("value") for i in resource.get("identifier") or ()
                   if i.get("system") == systems.APPOINTMENT_SERIES), None)
    start = resource.get("start")
    end = resource.get("end")
    meta = resource.get("meta") or {}
    return AppointmentView(
        id=resource.get("id", ""), status=resource.get("status", ""),
        start=practice_time.parse_instant(start) if start else None,
        end=practice_time.parse_instant(end) if end else None,
        minutes=resource.get("minutesDuration"),
        type_code=coding.get("code", "") if coding.get("system") == systems.APPOINTMENT_TYPE else "",
        type_display=coding.get("display") or (resource.get("appointmentType") or {}).get("text", ""),
        patient_id=patient_id, practitioner_ids=practitioners, location_id=location_id, room_id=room_id, stage=stage,
        comment=resource.get("comment", ""), cancel_code=reason_code, cancel_text=reason.get("text", ""),
        series_id=series, version=int(meta["versionId"]) if str(meta.get("versionId", "")).isdigit() else None,
        pk=pk,
    )


ROOM_TYPE = {"coding": [{"system": systems.APPOINTMENT_PARTICIPANT, "code": "room", "display": "Room"}],
             "text": "Room"}


def is_room_participant(participant: dict) -> bool:
    return any(c.get("system") == systems.APPOINTMENT_PARTICIPANT and c.get("code") == "room"
               for t in (participant or {}).get("type") or () for c in t.get("coding") or ())


def room_participant(room_id: str) -> dict:
    return {"type": [ROOM_TYPE], "actor": {"reference": f"Location/{room_id}"}, "required": "required",
            "status": "accepted"}


def appointment_resource(*, status: str, patient_id: str, practitioner_id: str, location_id: str,
                         start: datetime, end: datetime, type_code: str, type_name: str, comment: str = "",
                         series_id: str | None = None, created: datetime | None = None,
                         patient_status: str = "accepted", room_id: str = "") -> dict:
    resource = {
        "resourceType": "Appointment",
        "status": status,
        "appointmentType": {"coding": [{"system": systems.APPOINTMENT_TYPE, "code": type_code, "display": type_name}],
                            "text": type_name},
        "start": practice_time.fhir_instant(start),
        "end": practice_time.fhir_instant(end),
        "minutesDuration": int((end - start).total_seconds() // 60),
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "required": "required", "status": patient_status},
            {"actor": {"reference": f"Practitioner/{practitioner_id}"}, "required": "required", "status": "accepted"},
            {"actor": {"reference": f"Location/{location_id}"}, "required": "required", "status": "accepted"},
            *([room_participant(room_id)] if room_id else []),
        ],
    }
    if created is not None:
        resource["created"] = practice_time.fhir_instant(created)
    if comment:
        resource["comment"] = comment
    if series_id:
        resource["identifier"] = [{"system": systems.APPOINTMENT_SERIES, "value": series_id}]
    return resource


def with_stage(resource: dict, stage: str | None) -> dict:
    """The resource with its stage extension set to `stage` (or removed)."""
    extensions = [e for e in resource.get("extension") or () if e.get("url") != STAGE_URL]
    if stage:
        extensions.append({"url": STAGE_URL, "valueCode": stage})
    changed = {k: v for k, v in resource.items() if k != "extension"}
    if extensions:
        changed["extension"] = extensions
    return changed


def with_times(resource: dict, start: datetime, end: datetime) -> dict:
    return {**resource, "start": practice_time.fhir_instant(start), "end": practice_time.fhir_instant(end),
            "minutesDuration": int((end - start).total_seconds() // 60)}


def with_participants(resource: dict, *, practitioner_id: str | None = None, location_id: str | None = None,
                      patient_status: str | None = None, room_id: str | None = None) -> dict:
    """The resource with its practitioner, location or patient's participation status replaced;
    `room_id` None keeps the room, "" removes it, an id books that room instead."""
    participants = []
    for participant in resource.get("participant") or ():
        reference = ((participant or {}).get("actor") or {}).get("reference", "")
        if reference.startswith("Location/") and is_room_participant(participant):
            if room_id is not None:
                continue  # replaced (or dropped) below
        elif practitioner_id and reference.startswith("Practitioner/"):
            participant = {**participant, "actor": {"reference": f"Practitioner/{practitioner_id}"}}
        elif location_id and reference.startswith("Location/"):
            participant = {**participant, "actor": {"reference": f"Location/{location_id}"}}
        elif patient_status and reference.startswith("Patient/"):
            participant = {**participant, "status": patient_status}
        participants.append(participant)
    if room_id:
        participants.append(room_participant(room_id))
    return {**resource, "participant": participants}


def schedule_id(practitioner_id: str, location_id: str) -> str:
    """The fixed id of a provider's Schedule at a location (hashed when the ids are long)."""
    plain = f"sched-{practitioner_id}--{location_id}"
    if len(plain) <= 64:
        return plain
    return "sched-" + hashlib.sha256(f"{practitioner_id}|{location_id}".encode()).hexdigest()[:40]


def schedule_resource(practitioner_id: str, location_id: str, *, horizon_start: str, horizon_end: str,
                      comment: str = "") -> dict:
    resource = {
        "resourceType": "Schedule",
        "active": True,
        "actor": [{"reference": f"Practitioner/{practitioner_id}"}, {"reference": f"Location/{location_id}"}],
        "planningHorizon": {"start": horizon_start, "end": horizon_end},
    }
    if comment:
        resource["comment"] = comment
    return resource


def person_name(resource: dict | None, fallback: str = "") -> str:
    """"Dr Ruiz" for a practitioner with a prefix, "Ana Ruiz" otherwise; "Peter Chalmers" for a patient."""
    if not resource:
        return fallback
    names = resource.get("name") or []
    if not names:
        return fallback
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if name.get("text") and not name.get("family"):
        return name["text"]
    family = name.get("family", "")
    prefix = " ".join(name.get("prefix") or []).replace(".", "")
    if prefix and resource.get("resourceType") == "Practitioner":
        return f"{prefix} {family}".strip()
    given = " ".join(name.get("given") or [])
    return f"{given} {family}".strip() or fallback
