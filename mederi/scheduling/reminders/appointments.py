"""What reminders need of an Appointment, read through the repository as the server itself acting
for reminders (`Context.system("reminders")`), and the words a reminder says about it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import Forbidden, Gone, NotFound
from mederi.fhir.repository import Repository
from mederi.scheduling.reminders import templating, timing
from mederi.scheduling.reminders.models import (
    EMAIL,
    SMS,
    VOICE,
)

log = logging.getLogger(__name__)
REMINDABLE = ("booked", "pending")  # appointment statuses still ahead of the patient
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MEDIUM = {EMAIL: ("EMAILWRIT", "email"), SMS: ("SMSWRIT", "SMS message"), VOICE: ("PHONE", "telephone")}


def reminders_repository() -> Repository:
    return Repository(Context.system("reminders"))


@dataclass
class AppointmentInfo:
    """What reminders need of an Appointment, read through the repository."""

    id: str
    version: int
    resource: dict
    status: str
    start: datetime | None
    type_code: str
    patient_id: str
    practitioner_ref: str
    practitioner_display: str
    location_ref: str
    location_display: str

    @property
    def remindable(self) -> bool:
        return self.status in REMINDABLE and self.start is not None and bool(self.patient_id)


def _actor(resource: dict, prefixes: tuple[str, ...]) -> tuple[str, str]:
    for participant in resource.get("participant") or []:
        actor = participant.get("actor") or {}
        reference = actor.get("reference") or ""
        if reference.startswith(prefixes):
            return reference, actor.get("display") or ""
    return "", ""


def appointment_info(stored) -> AppointmentInfo:
    resource = stored.as_dict()
    type_code = ""
    for coding in (resource.get("appointmentType") or {}).get("coding") or []:
        if coding.get("system") == systems.APPOINTMENT_TYPE and coding.get("code"):
            type_code = coding["code"]
            break
    patient_ref, _ = _actor(resource, ("Patient/",))
    practitioner_ref, practitioner_display = _actor(resource, ("Practitioner/", "PractitionerRole/"))
    location_ref, location_display = _actor(resource, ("Location/",))
    return AppointmentInfo(
        id=stored.logical_id, version=stored.version_id, resource=resource, status=resource.get("status") or "",
        start=timing.parse_instant(resource.get("start")), type_code=type_code,
        patient_id=patient_ref.partition("/")[2], practitioner_ref=practitioner_ref,
        practitioner_display=practitioner_display, location_ref=location_ref, location_display=location_display)


def load_appointment(repo: Repository, appointment_id: str) -> AppointmentInfo | None:
    try:
        return appointment_info(repo.read("Appointment", appointment_id))
    except (NotFound, Gone):
        return None


def _read_or_none(repo: Repository, reference: str) -> dict | None:
    kind, _, logical_id = reference.partition("/")
    if not kind or not logical_id:
        return None
    try:
        return repo.read(kind, logical_id).as_dict()
    except (NotFound, Gone, Forbidden):
        return None


def _person_name(resource: dict | None) -> str:
    names = (resource or {}).get("name") or []
    if not names:
        return ""
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if name.get("text"):
        return name["text"]
    parts = (name.get("prefix") or [])[:1] + (name.get("given") or [])[:1] + [name.get("family") or ""]
    return " ".join(p for p in parts if p)


def _first_name(patient: dict | None) -> str:
    for name in (patient or {}).get("name") or []:
        if name.get("given"):
            return name["given"][0]
    for name in (patient or {}).get("name") or []:
        if name.get("family"):
            return name["family"]
    return "patient"


def zone_of(repo: Repository, appointment: AppointmentInfo):
    location = _read_or_none(repo, appointment.location_ref) if appointment.location_ref else None
    return timing.practice_timezone(location)


def appointment_facts(repo: Repository, appointment: AppointmentInfo, zone=None) -> templating.AppointmentFacts:
    """The words a reminder says about an appointment, in the practice's time zone."""
    zone = zone or zone_of(repo, appointment)
    patient = _read_or_none(repo, f"Patient/{appointment.patient_id}") if appointment.patient_id else None
    provider = appointment.practitioner_display
    if not provider and appointment.practitioner_ref:
        practitioner = _read_or_none(repo, appointment.practitioner_ref)
        if practitioner and practitioner.get("resourceType") == "PractitionerRole":
            practitioner = _read_or_none(repo, (practitioner.get("practitioner") or {}).get("reference") or "")
        provider = _person_name(practitioner)
    location = appointment.location_display
    if not location and appointment.location_ref:
        location = (_read_or_none(repo, appointment.location_ref) or {}).get("name") or ""
    start = appointment.start
    return templating.AppointmentFacts(
        patient_first_name=_first_name(patient),
        date=timing.local_date_text(start, zone) if start else "",
        time=timing.local_time_text(start, zone) if start else "",
        provider=provider or "your clinician",
        location=location or "our clinic",
    )


# -- rules -----------------------------------------------------------------------------------------


def medium(channel: str) -> list[dict]:
    """How a message went out, as a Communication.medium."""
    code, display = MEDIUM[channel]
    return [{"coding": [{"system": PARTICIPATION_MODE, "code": code, "display": display}]}]
