"""What the agent reads from and writes to the record, as the server acting for the agent.

Reads: who sent a message (by phone or email), the patient's next appointment, the practice's
locations (hours and directions). Writes: each message as a Communication (the agent's own with a
Provenance naming the engine, its model and version, and the message it answered), and the Tasks
that put a request in a staff queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository
from mederi.scheduling import bookable, practice_time, records
from mederi.scheduling.reminders.preferences import normalize_phone

log = logging.getLogger(__name__)
AGENT_PURPOSE = "ai-agent"
QUEUE_SYSTEM = "urn:mederi:staff-queue"
REQUEST_SYSTEM = "urn:mederi:agent-request"
QUEUES = {"front-desk": "Front desk", "refills": "Refills (clinical staff)", "billing": "Billing office"}
MEDIUM_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MEDIUM = {"sms": ("SMSWRIT", "SMS message"), "email": ("EMAILWRIT", "email"), "portal": ("ELECTRONIC", "portal"),
          "voice": ("PHONE", "telephone")}
DAY_NAMES = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}
DAY_ORDER = list(DAY_NAMES)


def repository() -> Repository:
    return Repository(Context.system(AGENT_PURPOSE))


def find_patient(channel: str, address: str) -> str:
    """The patient whose phone (sms, voice) or email (email) this is; "" when none or several match."""
    if not address:
        return ""
    if channel == "email":
        found = repository().search("Patient", [("email", address.strip().lower()), ("_count", "3")])
        ids = {s.logical_id for s in found.matches}
    else:  # as texted (E.164) or as typed at registration
        spellings = ",".join(dict.fromkeys(v for v in (normalize_phone(address), address.strip()) if v))
        found = repository().search("Patient", [("phone", spellings), ("_count", "3")])
        ids = {s.logical_id for s in found.matches}
    return ids.pop() if len(ids) == 1 else ""


@dataclass
class Upcoming:
    view: records.AppointmentView
    practitioner: str
    location: str

    @property
    def when(self) -> str:
        local = practice_time.to_local(self.view.start)
        return local.strftime("%a %b %-d at %-I:%M %p")


def _display(repo: Repository, resource_type: str, logical_id: str | None) -> str:
    if not logical_id:
        return ""
    try:
        resource = repo.read(resource_type, logical_id).as_dict()
    except MederiError:
        return ""
    if resource_type == "Location":
        return resource.get("name", "")
    name = (resource.get("name") or [{}])[0]
    return " ".join((name.get("prefix") or [])[:1] + [name.get("family", "")]).strip()


def appointment(appointment_id: str) -> Upcoming | None:
    repo = repository()
    try:
        view = records.view_of(repo.read("Appointment", appointment_id).content)
    except MederiError:
        return None
    return Upcoming(view, _display(repo, "Practitioner", view.practitioner_id),
                    _display(repo, "Location", view.location_id))


def next_appointment(patient_id: str) -> Upcoming | None:
    """The patient's next booked appointment still ahead of them."""
    if not patient_id:
        return None
    repo = repository()
    found = repo.search("Appointment", [("patient", f"Patient/{patient_id}"), ("status", "booked,pending"),
                                        ("date", f"ge{clock.fhir_instant(clock.now())}"), ("_sort", "date"),
                                        ("_count", "1")])
    if not found.matches:
        return None
    view = records.view_of(found.matches[0].content)
    return Upcoming(view, _display(repo, "Practitioner", view.practitioner_id),
                    _display(repo, "Location", view.location_id))


def clinics() -> list[dict]:
    """The practice's active locations that patients come to (rooms left out)."""
    found = repository().search("Location", [("status", "active"), ("_count", "50")])
    return [s.as_dict() for s in found.matches if not bookable.is_room(s.as_dict())]


def _clock(text: str) -> str:
    hour, minute = int(text[:2]), int(text[3:5])
    return f"{hour % 12 or 12}{':%02d' % minute if minute else ''} {'AM' if hour < 12 else 'PM'}"


def hours_text(location: dict) -> str:
    """'Mon-Fri 8 AM-5 PM, Sat 9 AM-12 PM' from Location.hoursOfOperation ("" when not recorded)."""
    spans: list[tuple[list[str], str]] = []
    for entry in location.get("hoursOfOperation") or ():
        days = sorted((d for d in entry.get("daysOfWeek") or () if d in DAY_NAMES), key=DAY_ORDER.index)
        if not days:
            continue
        if entry.get("allDay"):
            times = "open all day"
        elif entry.get("openingTime") and entry.get("closingTime"):
            times = f"{_clock(entry['openingTime'])}-{_clock(entry['closingTime'])}"
        else:
            continue
        spans.append((days, times))
    parts = []
    for days, times in spans:
        consecutive = [DAY_ORDER.index(d) for d in days] == list(range(DAY_ORDER.index(days[0]),
                                                                      DAY_ORDER.index(days[0]) + len(days)))
        label = (f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}" if consecutive and len(days) > 2
                 else "/".join(DAY_NAMES[d] for d in days))
        parts.append(f"{label} {times}")
    return ", ".join(parts)


def open_on(location: dict, weekday: int) -> bool:
    """Do the Location's hours include this weekday (0 Monday)?"""
    return any(DAY_ORDER[weekday] in (entry.get("daysOfWeek") or ()) for entry in location.get("hoursOfOperation") or ())


def address_text(location: dict) -> str:
    address = location.get("address") or {}
    city = ", ".join(p for p in (address.get("city"), " ".join(filter(None, (address.get("state"),
                                                                            address.get("postalCode"))))) if p)
    return ", ".join(p for p in (" ".join(address.get("line") or ()), city) if p)


def _ref(resource_type: str, logical_id: str | None) -> list[dict]:
    return [{"reference": f"{resource_type}/{logical_id}"}] if logical_id else []


def record_message(*, patient_id: str, channel: str, text: str, from_patient: bool, appointment_id: str = "",
                   in_response_to: str = "", sender_display: str = "") -> str:
    """A message to or from the patient as a Communication; its id ("" for an unknown sender)."""
    if not patient_id:
        return ""
    code, display = MEDIUM.get(channel, MEDIUM["portal"])
    patient = {"reference": f"Patient/{patient_id}"}
    practice = {"display": sender_display or "Riverside front desk"}
    resource = {
        "resourceType": "Communication", "status": "completed",
        "medium": [{"coding": [{"system": MEDIUM_SYSTEM, "code": code, "display": display}]}],
        "subject": patient, "sender": patient if from_patient else practice,
        "recipient": [practice if from_patient else patient],
        ("received" if from_patient else "sent"): clock.fhir_instant(clock.now()),
        "payload": [{"contentString": text}],
        **({"about": _ref("Appointment", appointment_id)} if appointment_id else {}),
        **({"inResponseTo": _ref("Communication", in_response_to)} if in_response_to else {}),
    }
    return repository().create(resource).stored.logical_id


def record_provenance(target: str, engine_label: str, source_communication: str, activity: str) -> str:
    """Who made the agent's output: the engine (name, model, version) and the message it read."""
    resource = {
        "resourceType": "Provenance", "target": [{"reference": target}],
        "recorded": clock.fhir_instant(clock.now()), "activity": {"text": activity},
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "assembler"}]}, "who": {"display": engine_label}}],
        **({"entity": [{"role": "source", "what": {"reference": f"Communication/{source_communication}"}}]}
           if source_communication else {}),
    }
    return repository().create(resource).stored.logical_id


def queue_task(*, patient_id: str, queue: str, request: str, request_display: str, message: str, channel: str,
               note: str = "", appointment_id: str = "", now: datetime | None = None) -> str:
    """A request in a staff queue (Task.performerType names the queue), with the patient's words."""
    resource = {
        "resourceType": "Task", "status": "requested", "intent": "order",
        "priority": "asap" if request in ("running-late", "handover") else "routine",
        "code": {"coding": [{"system": REQUEST_SYSTEM, "code": request, "display": request_display}],
                 "text": request_display},
        "description": f"{request_display}: “{message[:500]}” ({MEDIUM.get(channel, ('', channel))[1]})",
        "authoredOn": clock.fhir_instant(now or clock.now()),
        "performerType": [{"coding": [{"system": QUEUE_SYSTEM, "code": queue, "display": QUEUES[queue]}],
                           "text": QUEUES[queue]}],
        "input": [{"type": {"text": "Patient's message"}, "valueString": message[:2000] or "(empty)"}],
        **({"for": {"reference": f"Patient/{patient_id}"}} if patient_id else {}),
        **({"focus": {"reference": f"Appointment/{appointment_id}"}} if appointment_id else {}),
        **({"note": [{"text": note}]} if note else {}),
    }
    return repository().create(resource).stored.logical_id
