"""The encounter of a visit: it starts when the clinician starts the visit of a checked-in patient
and ends when the visit's note is signed.

Starting creates the Encounter (status in-progress, class AMB) for the Appointment, or reopens
the one it already has; finishing sets `period.end` and status finished, and checks the
Appointment out through the scheduling services (status fulfilled, stage checked-out).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Conflict, Gone, InvalidRequest, NotFound
from mederi.fhir.repository import Repository
from mederi.scheduling import records as appointments
from mederi.scheduling import services as scheduling

STARTABLE = ("arrived", "checked-in")  # the desk has the patient: the visit can begin


@dataclass(frozen=True)
class Visit:
    encounter_id: str
    created: bool


def encounter_of_appointment(repo: Repository, appointment_id: str) -> dict | None:
    found = repo.search("Encounter", [("appointment", f"Appointment/{appointment_id}"), ("_count", "1")],
                        first_page_only=True).matches
    return found[0].as_dict() if found else None


def _read_appointment(repo: Repository, appointment_id: str) -> dict:
    try:
        return repo.read("Appointment", appointment_id).as_dict()
    except (NotFound, Gone):
        raise NotFound(f"there is no appointment '{appointment_id}'") from None


def _service_provider(repo: Repository, location_id: str | None) -> dict | None:
    if not location_id:
        return None
    try:
        location = repo.read("Location", location_id).as_dict()
    except (NotFound, Gone):
        return None
    while (location.get("partOf") or {}).get("reference", "").startswith("Location/"):  # a room: its clinic's owner
        try:
            location = repo.read("Location", location["partOf"]["reference"].removeprefix("Location/")).as_dict()
        except (NotFound, Gone):
            break
    return location.get("managingOrganization")


def start_visit(context: Context, appointment_id: str) -> Visit:
    """The Encounter of a checked-in appointment, created or reopened (status in-progress)."""
    repo = Repository(context)
    with transaction.atomic():
        appointment = _read_appointment(repo, appointment_id)
        view = appointments.view_of(appointment)
        existing = encounter_of_appointment(repo, appointment_id)
        if existing is not None:
            if existing.get("status") in ("in-progress", "finished"):
                return Visit(existing["id"], created=False)  # already under way, or done: open it as it is
            if existing.get("status") in ("cancelled", "entered-in-error"):
                raise Conflict(f"the encounter of this appointment is {existing['status']}; it cannot be reopened")
            reopened = {**existing, "status": "in-progress"}
            reopened.setdefault("period", {}).setdefault("start", clock.fhir_instant(clock.now()))
            repo.update("Encounter", existing["id"], reopened)
            return Visit(existing["id"], created=False)
        if view.status not in STARTABLE:
            raise InvalidRequest.single(
                f"this appointment is {view.state_label.lower()}: a visit starts once the patient is checked in",
                expression="appointment", status=409)
        if not view.patient_id:
            raise InvalidRequest.single("this appointment names no patient", expression="appointment")
        encounter = {
            "resourceType": "Encounter", "status": "in-progress",
            "class": {"system": systems.ACT_CODE, "code": "AMB", "display": "ambulatory"},
            "subject": {"reference": f"Patient/{view.patient_id}"},
            "appointment": [{"reference": f"Appointment/{appointment_id}"}],
            "period": {"start": clock.fhir_instant(clock.now())},
        }
        if appointment.get("appointmentType"):
            encounter["type"] = [appointment["appointmentType"]]
        if view.practitioner_ids:
            encounter["participant"] = [{
                "type": [{"coding": [{"system": systems.PARTICIPATION_TYPE, "code": "PPRF",
                                      "display": "primary performer"}]}],
                "individual": {"reference": f"Practitioner/{practitioner_id}"}} for practitioner_id in view.practitioner_ids]
        if view.location_id:
            encounter["location"] = [{"location": {"reference": f"Location/{view.location_id}"}, "status": "active"}]
        provider = _service_provider(repo, view.location_id)
        if provider:
            encounter["serviceProvider"] = provider
        stored = repo.create(encounter).stored
    return Visit(stored.logical_id, created=True)


def finish_encounter(context: Context, encounter_id: str) -> dict:
    """End the visit: period.end and status finished, and the appointment checked out (when it is still in)."""
    repo = Repository(context)
    current = repo.read("Encounter", encounter_id)
    encounter = current.as_dict()
    if encounter.get("status") == "finished":
        return encounter
    encounter["status"] = "finished"
    encounter.setdefault("period", {})["end"] = clock.fhir_instant(clock.now())
    stored = repo.update("Encounter", encounter_id, encounter, if_match=current.version_id).stored
    for reference in encounter.get("appointment") or ():
        appointment_id = (reference.get("reference") or "").removeprefix("Appointment/")
        if appointment_id and appointments.view_of(repo.read("Appointment", appointment_id).as_dict()).status \
                == "checked-in":
            scheduling.check_out(context, appointment_id)
    return stored.as_dict()
