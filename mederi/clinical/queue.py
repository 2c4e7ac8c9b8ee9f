"""The clinician's queue: today's visits checked in at the desk and waiting, or already roomed.

Read from the record: an Appointment whose status is checked-in is in the queue; its stage
(`urn:mederi:appointment-stage`) says whether the patient is still waiting or in a room, and
the time it last changed is when they started waiting there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.scheduling import bookable, practice_time, records, selectors


@dataclass
class Waiting:
    appointment_id: str
    patient_id: str
    patient_name: str
    practitioner_name: str
    starts: datetime | None
    stage: str  # checked-in (waiting) or in-room
    since: datetime
    room_name: str = ""  # the room booked for the visit, when there is one

    @property
    def minutes_waiting(self) -> int:
        return max(0, int((clock.now() - self.since).total_seconds() // 60))


def clinician_queue(context: Context, *, location_id: str | None = None,
                    practitioner_id: str | None = None) -> list[Waiting]:
    """Today's checked-in visits (at a location, for a provider), longest waiting first; audited."""
    first, last = practice_time.day_bounds(practice_time.today())
    params = [("status", "checked-in"), ("date", f"ge{practice_time.fhir_instant(first)}"),
              ("date", f"lt{practice_time.fhir_instant(last)}"), ("_count", "200")]
    if location_id:
        params.append(("location", f"Location/{location_id}"))
    if practitioner_id:
        params.append(("practitioner", f"Practitioner/{practitioner_id}"))
    found = Repository(context).search("Appointment", params, first_page_only=True).matches
    views = [(records.view_of(s.as_dict()), s.last_updated) for s in found]
    patients = selectors._patient_names(context, [v.patient_id for v, _ in views])
    providers = selectors.practitioner_names([v.practitioner_id for v, _ in views if v.practitioner_id])
    rooms = bookable.names(v.room_id for v, _ in views if v.room_id)
    audit.record(context, "search", resource_type="Appointment", resource_ids=[s.reference for s in found],
                 query=f"ui: clinician queue location={location_id or ''} practitioner={practitioner_id or ''}")
    queue = [Waiting(v.id, v.patient_id or "", patients.get(v.patient_id, v.patient_id or ""),
                     providers.get(v.practitioner_id, v.practitioner_id or ""), v.start, v.stage or "checked-in",
                     updated, rooms.get(v.room_id, v.room_id or "")) for v, updated in views]
    return sorted(queue, key=lambda w: (w.stage == "in-room", w.since))
