"""The BusyTime copy speeds up searching; the record decides. Appointments written past the
scheduling services (an outside FHIR client) are never double-booked nor offered as free, and
a stale row of the copy does not hide free time on a day the search looks at."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mederi.fhir.repository import Repository
from mederi.scheduling import availability, practice_time, projection, records, services
from mederi.scheduling.errors import SlotTaken
from mederi.scheduling.models import BusyTime
from mederi.scheduling.tests.conftest import SYSTEM, at

pytestmark = pytest.mark.django_db


def outside_booking(day, hh, mm, minutes=40, practitioner="dr-ruiz") -> str:
    """An Appointment written straight to the record, as an outside FHIR client would."""
    start = practice_time.to_utc(at(day, hh, mm))
    resource = records.appointment_resource(
        status="booked", patient_id="pat-c", practitioner_id=practitioner, location_id="clinic-main", start=start,
        end=start + timedelta(minutes=minutes), type_code="new", type_name="New patient")
    return Repository(SYSTEM).create(resource).stored.logical_id


def test_services_keep_the_copy_in_step(practice, frontdesk):
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu")
    assert list(BusyTime.objects.values_list("appointment_id", "practitioner_id")) == [(appointment_id, "dr-ruiz")]
    services.reschedule_appointment(frontdesk, appointment_id, at(practice, 10))
    assert BusyTime.objects.get().start_second == int(practice_time.to_utc(at(practice, 10)).timestamp())
    services.mark_no_show(frontdesk, appointment_id)
    assert not BusyTime.objects.exists()


def test_an_outside_booking_is_never_offered_or_double_booked(practice, frontdesk):
    services.add_exception(SYSTEM, "dr-ruiz", at(practice, 9), at(practice, 17), "closed")
    outside_booking(practice, 8, 0, minutes=60)  # Ruiz's only open hour that day, taken
    assert not BusyTime.objects.exists()  # the copy does not know
    slots = availability.next_available(frontdesk, practitioner_ids=["dr-ruiz"], type_code="fu",
                                        start_date=practice, limit=1)
    assert slots[0].local_start.date() == practice + timedelta(days=1)
    with pytest.raises(SlotTaken):
        services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 8, 20), "fu")


def test_a_stale_copy_is_overruled_by_the_record_and_rebuilt(practice, frontdesk):
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 8), "new")
    repo = Repository(SYSTEM)
    resource = repo.read("Appointment", appointment_id).as_dict()
    repo.update("Appointment", appointment_id, {**resource, "status": "cancelled"})  # outside, past the services
    assert BusyTime.objects.filter(appointment_id=appointment_id).exists()  # stale
    first = availability.next_available(frontdesk, practitioner_ids=["dr-ruiz"], type_code="new",
                                        start_date=practice, limit=1)
    assert practice_time.clock_text(first[0].start) == "08:00"  # the day was checked against the record
    first_day, last_day = practice_time.day_bounds(practice)
    projection.rebuild(first_day, last_day + timedelta(days=7))
    assert not BusyTime.objects.exists()


def test_rebuild_copies_what_others_wrote(practice):
    appointment_id = outside_booking(practice, 14, 0)
    first_day, last_day = practice_time.day_bounds(practice)
    assert projection.rebuild(first_day, last_day) == 1
    assert BusyTime.objects.get().appointment_id == appointment_id
