"""The waitlist: a freed time is offered to the first patient whose wishes it suits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mederi.fhir.repository import Repository
from mederi.scheduling import services
from mederi.scheduling.errors import BookingError, SlotTaken
from mederi.scheduling.models import WaitlistEntry
from mederi.scheduling.tests.conftest import SYSTEM, at

pytestmark = pytest.mark.django_db


def wait(practice, patient, **wishes) -> WaitlistEntry:
    return services.add_to_waitlist(SYSTEM, patient, wishes.pop("type_code", "fu"), earliest=practice,
                                    latest=practice + timedelta(days=13), **wishes)


def appointment(appointment_id: str) -> dict:
    return Repository(SYSTEM).read("Appointment", appointment_id).as_dict()


def test_a_cancellation_is_offered_to_the_first_matching_patient(practice, frontdesk):
    booked = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    afternoons = wait(practice, "pat-b", time_of_day="afternoon")  # earlier, but wants afternoons
    other_doctor = wait(practice, "pat-b", practitioner_id="dr-okafor")
    too_long = wait(practice, "pat-c", type_code="new")  # 40 minutes do not fit in 20
    first_match = wait(practice, "pat-c", weekdays=[practice.weekday()])
    second_match = wait(practice, "pat-b")
    services.cancel_appointment(frontdesk, booked, "pat", "Cannot come")
    statuses = {e.pk: e.status for e in WaitlistEntry.objects.all()}
    assert statuses == {afternoons.pk: "waiting", other_doctor.pk: "waiting", too_long.pk: "waiting",
                        first_match.pk: "offered", second_match.pk: "waiting"}
    offer = appointment(WaitlistEntry.objects.get(pk=first_match.pk).offered_appointment_id)
    assert offer["status"] == "proposed" and offer["start"] == appointment(booked)["start"]
    assert offer["participant"][0] == {"actor": {"reference": "Patient/pat-c"}, "required": "required",
                                       "status": "needs-action"}


def test_accepting_books_the_offer(practice, frontdesk):
    booked = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    entry = wait(practice, "pat-b")
    services.cancel_appointment(frontdesk, booked, "pat", "Cannot come")
    appointment_id = services.accept_offer(frontdesk, entry.pk)
    resource = appointment(appointment_id)
    assert resource["status"] == "booked" and resource["participant"][0]["status"] == "accepted"
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "booked"
    with pytest.raises(BookingError):  # nothing left to accept
        services.accept_offer(frontdesk, entry.pk)


def test_declining_passes_the_offer_on_and_keeps_the_place(practice, frontdesk):
    booked = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    first, second = wait(practice, "pat-b"), wait(practice, "pat-c")
    services.cancel_appointment(frontdesk, booked, "pat", "Cannot come")
    declined_offer = WaitlistEntry.objects.get(pk=first.pk).offered_appointment_id
    services.decline_offer(frontdesk, first.pk)
    assert appointment(declined_offer)["status"] == "cancelled"
    assert WaitlistEntry.objects.get(pk=first.pk).status == "waiting"
    assert WaitlistEntry.objects.get(pk=second.pk).status == "offered"


def test_an_offer_taken_meanwhile_returns_the_patient_to_the_list(practice, frontdesk):
    booked = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    entry = wait(practice, "pat-b")
    services.cancel_appointment(frontdesk, booked, "pat", "Cannot come")
    services.book_appointment(frontdesk, "pat-c", "dr-ruiz", "clinic-main", at(practice, 10), "sick")  # a walk-in
    with pytest.raises(SlotTaken) as caught:
        services.accept_offer(frontdesk, entry.pk)
    assert "The patient is back on the waitlist." in str(caught.value)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"


def test_nothing_is_offered_when_the_time_is_still_taken(practice, frontdesk):
    services.set_overbook_limit(SYSTEM, "dr-ruiz", 2)
    first = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 10), "fu", overbook=True)
    entry = wait(practice, "pat-c")
    services.cancel_appointment(frontdesk, first, "pat", "Cannot come")
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"


def test_waitlist_input_is_checked(practice):
    with pytest.raises(BookingError) as caught:
        services.add_to_waitlist(SYSTEM, "pat-a", "fu", earliest=practice, latest=practice - timedelta(days=1))
    assert caught.value.issues[0].expression == "latest"
    with pytest.raises(BookingError) as caught:
        services.add_to_waitlist(SYSTEM, "pat-a", "massage", earliest=practice, latest=practice)
    assert caught.value.issues[0].expression == "type_code"
    assert not WaitlistEntry.objects.exists()
