"""Rooms in bookings: a room is optional, holds one appointment at a time, belongs to one
location, and shows on the calendar, the appointment page and the clinician's queue."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.conftest import record_row_counts, staff_user
from mederi.core import systems
from mederi.fhir.repository import Repository
from mederi.scheduling import directory, records, services
from mederi.scheduling.errors import BookingError, SlotTaken
from mederi.scheduling.tests.conftest import SYSTEM, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def rooms(practice):
    return {"exam1": directory.add_room(SYSTEM, "clinic-main", "Exam 1"),
            "exam2": directory.add_room(SYSTEM, "clinic-main", "Exam 2"),
            "north1": directory.add_room(SYSTEM, "clinic-north", "North exam")}


def stored(appointment_id: str) -> dict:
    return Repository(SYSTEM).read("Appointment", appointment_id).as_dict()


def test_a_booked_room_is_a_location_participant_beside_the_clinic(practice, rooms, frontdesk):
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10),
                                               "fu", room_id=rooms["exam1"])
    resource = stored(appointment_id)
    assert [p["actor"]["reference"] for p in resource["participant"]] == [
        "Patient/pat-a", "Practitioner/dr-ruiz", "Location/clinic-main", f"Location/{rooms['exam1']}"]
    assert resource["participant"][3]["type"][0]["coding"][0] == {
        "system": systems.APPOINTMENT_PARTICIPANT, "code": "room", "display": "Room"}
    view = records.view_of(resource)
    assert (view.location_id, view.room_id) == ("clinic-main", rooms["exam1"])
    # The record's search finds it by the room as by the clinic.
    for place in ("clinic-main", rooms["exam1"]):
        found = Repository(SYSTEM).search("Appointment", [("location", f"Location/{place}")])
        assert [m.logical_id for m in found.matches] == [appointment_id]


def test_a_room_taken_at_that_time_is_refused_and_nothing_is_stored(practice, rooms, frontdesk):
    services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu",
                              room_id=rooms["exam1"])
    before = record_row_counts()
    with pytest.raises(SlotTaken) as caught:  # another provider, overlapping 10:00-10:20
        services.book_appointment(frontdesk, "pat-b", "dr-okafor", "clinic-main", at(practice, 10, 10), "fu",
                                  room_id=rooms["exam1"])
    assert caught.value.issues[0].expression == "room_id"
    assert caught.value.issues[0].diagnostics.startswith("Exam 1 is taken from 10:00 to 10:20 on ")
    assert record_row_counts() == before
    # Overbooking is about a provider's time, never a room's.
    with pytest.raises(SlotTaken):
        services.book_appointment(frontdesk, "pat-b", "dr-okafor", "clinic-main", at(practice, 10, 10), "fu",
                                  room_id=rooms["exam1"], overbook=True)
    # Right after it, the room is free again.
    services.book_appointment(frontdesk, "pat-b", "dr-okafor", "clinic-main", at(practice, 10, 20), "fu",
                              room_id=rooms["exam1"])


def test_two_rooms_at_the_same_time_are_both_fine(practice, rooms, frontdesk):
    first = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu",
                                      room_id=rooms["exam1"])
    second = services.book_appointment(frontdesk, "pat-b", "dr-okafor", "clinic-main", at(practice, 9), "fu",
                                       room_id=rooms["exam2"])
    assert records.view_of(stored(first)).room_id == rooms["exam1"]
    assert records.view_of(stored(second)).room_id == rooms["exam2"]


def test_a_cancelled_appointment_frees_its_room(practice, rooms, frontdesk):
    first = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu",
                                      room_id=rooms["exam1"])
    services.cancel_appointment(frontdesk, first, "pat")
    services.book_appointment(frontdesk, "pat-b", "dr-okafor", "clinic-main", at(practice, 9), "fu",
                              room_id=rooms["exam1"])


def test_a_room_of_another_location_is_refused(practice, rooms, frontdesk):
    before = record_row_counts()
    with pytest.raises(BookingError) as caught:
        services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu",
                                  room_id=rooms["north1"])
    assert str(caught.value) == ("room_id: North exam is a room of North clinic, not of Main clinic. "
                                 "Choose a room there, or no room.")
    assert record_row_counts() == before


@pytest.mark.parametrize("room, words", [("no-such-room", "There is no room 'no-such-room'"),
                                         ("clinic-north", "There is no room 'clinic-north'")])
def test_an_unknown_room_or_a_clinic_given_as_a_room_is_refused(practice, rooms, frontdesk, room, words):
    with pytest.raises(BookingError) as caught:
        services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu", room_id=room)
    assert words in str(caught.value) and caught.value.issues[0].expression == "room_id"


def test_a_room_out_of_use_is_refused(practice, rooms, frontdesk):
    directory.save_room(SYSTEM, rooms["exam2"], name="Exam 2", active=False)
    with pytest.raises(BookingError) as caught:
        services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu",
                                  room_id=rooms["exam2"])
    assert "Exam 2 is out of use" in str(caught.value)


def test_rescheduling_keeps_the_room_or_changes_it(practice, rooms, frontdesk):
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu",
                                               room_id=rooms["exam1"])
    services.reschedule_appointment(frontdesk, appointment_id, at(practice, 11))
    assert records.view_of(stored(appointment_id)).room_id == rooms["exam1"]
    services.reschedule_appointment(frontdesk, appointment_id, at(practice, 11), room_id=rooms["exam2"])
    resource = stored(appointment_id)
    assert records.view_of(resource).room_id == rooms["exam2"]
    assert sum(1 for p in resource["participant"] if p["actor"]["reference"].startswith("Location/")) == 2
    # Moving within its own time does not collide with itself; "" leaves the room.
    services.reschedule_appointment(frontdesk, appointment_id, at(practice, 11, 10), room_id="")
    resource = stored(appointment_id)
    assert records.view_of(resource).room_id is None
    assert [p["actor"]["reference"] for p in resource["participant"]][-1] == "Location/clinic-main"


def test_rescheduling_into_a_taken_room_is_refused_and_changes_nothing(practice, rooms, frontdesk):
    services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu",
                              room_id=rooms["exam1"])
    moving = services.book_appointment(frontdesk, "pat-b", "dr-okafor", "clinic-main", at(practice, 11), "fu",
                                       room_id=rooms["exam2"])
    before = record_row_counts()
    with pytest.raises(SlotTaken) as caught:
        services.reschedule_appointment(frontdesk, moving, at(practice, 9), room_id=rooms["exam1"])
    assert "Exam 1 is taken from 09:00 to 09:20" in str(caught.value)
    assert record_row_counts() == before
    assert records.view_of(stored(moving)).room_id == rooms["exam2"]


def test_a_series_with_a_room_is_booked_all_or_nothing(practice, rooms, frontdesk):
    from datetime import timedelta

    services.book_appointment(frontdesk, "pat-b", "dr-okafor", "clinic-main", at(practice + timedelta(weeks=2), 9),
                              "fu", room_id=rooms["exam1"])
    before = record_row_counts()
    with pytest.raises(SlotTaken) as caught:
        services.book_recurring(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu", count=3,
                                room_id=rooms["exam1"])
    assert "1 of the 3 dates cannot be booked" in str(caught.value) and "(room taken)" in str(caught.value)
    assert record_row_counts() == before
    ids = services.book_recurring(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu", count=3,
                                  room_id=rooms["exam2"])
    assert {records.view_of(stored(i)).room_id for i in ids} == {rooms["exam2"]}


def signed_in(username: str, *roles: str) -> Client:
    client = Client()
    client.force_login(staff_user(username, *roles))
    return client


def test_the_calendar_the_appointment_page_and_the_booking_form_show_the_room(practice, rooms):
    appointment_id = services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu",
                                               room_id=rooms["exam1"])
    desk = signed_in("fran", "front_desk")
    day = desk.get(f"/schedule/?location=clinic-main&date={practice.isoformat()}").content.decode()
    assert '<span class="room">Exam 1</span>' in day
    page = desk.get(f"/schedule/appointments/{appointment_id}/").content.decode()
    assert "<dt>Room</dt><dd>Exam 1</dd>" in page
    assert f'<option value="{rooms["exam1"]}" selected>Exam 1</option>' in page  # the reschedule form keeps it
    form = desk.get("/schedule/book/").content.decode()
    assert '<optgroup label="Main clinic">' in form and '<optgroup label="North clinic">' in form
    assert ">North exam</option>" in form


def test_booking_from_the_page_with_a_taken_room_shows_why_at_the_room(practice, rooms):
    services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu",
                              room_id=rooms["exam1"])
    desk = signed_in("fran", "front_desk")
    before = record_row_counts()
    response = desk.post("/schedule/book/", {
        "patient_id": "pat-b", "practitioner_id": "dr-okafor", "location_id": "clinic-main", "type_code": "fu",
        "date": practice.isoformat(), "time": "10:00", "room_id": rooms["exam1"]})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="id_room_id-error"' in page and "Exam 1 is taken from 10:00 to 10:20" in page
    assert record_row_counts() == before
    response = desk.post("/schedule/book/", {
        "patient_id": "pat-b", "practitioner_id": "dr-okafor", "location_id": "clinic-main", "type_code": "fu",
        "date": practice.isoformat(), "time": "10:00", "room_id": rooms["exam2"]})
    assert response.status_code == 302
    booked = response["Location"].rstrip("/").rsplit("/", 1)[1]
    assert records.view_of(stored(booked)).room_id == rooms["exam2"]


def test_rescheduling_from_the_page_changes_the_room(practice, rooms):
    appointment_id = services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu",
                                               room_id=rooms["exam1"])
    desk = signed_in("fran", "front_desk")
    response = desk.post(f"/schedule/appointments/{appointment_id}/reschedule", {
        "date": practice.isoformat(), "time": "11:00", "room_id": rooms["exam2"], "scope": "one"})
    assert response.status_code == 302
    assert records.view_of(stored(appointment_id)).room_id == rooms["exam2"]


def test_the_clinicians_queue_shows_the_room(practice, rooms, monkeypatch):
    from datetime import datetime, time

    from mederi.conftest import FrozenClock
    from mederi.scheduling import practice_time

    FrozenClock.install(monkeypatch, practice_time.to_utc(datetime.combine(practice, time(9, 55))))
    monkeypatch.setattr(practice_time, "today", lambda: practice)
    with_room = services.book_appointment(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu",
                                          room_id=rooms["exam2"])
    without = services.book_appointment(SYSTEM, "pat-b", "dr-okafor", "clinic-main", at(practice, 10), "fu")
    for appointment_id in (with_room, without):
        services.check_in(SYSTEM, appointment_id)
    page = signed_in("nina", "nurse").get("/clinical/queue/?location=clinic-main").content.decode()
    assert "<td>Exam 2</td>" in page and "<td>Not booked</td>" in page
