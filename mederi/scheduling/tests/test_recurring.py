"""Recurring appointments: booked all or none, and changed one at a time or from one onwards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mederi.conftest import record_row_counts
from mederi.core import systems
from mederi.fhir.repository import Repository
from mederi.scheduling import practice_time, services
from mederi.scheduling.errors import BookingError, SlotTaken
from mederi.scheduling.tests.conftest import SYSTEM, at

pytestmark = pytest.mark.django_db


def starts(ids) -> list[str]:
    repo = Repository(SYSTEM)
    found = []
    for appointment_id in ids:
        resource = repo.read("Appointment", appointment_id).as_dict()
        local = practice_time.to_local(practice_time.parse_instant(resource["start"]))
        found.append(f"{local:%m-%d %H:%M} {resource['status']}")
    return found


def series(practice, **options) -> list[str]:
    return services.book_recurring(SYSTEM, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu", **options)


def test_a_weekly_series_shares_one_identifier(practice):
    ids = series(practice, count=4)
    assert starts(ids) == [f"{practice + timedelta(weeks=n):%m-%d} 09:00 booked" for n in range(4)]
    values = {Repository(SYSTEM).read("Appointment", i).as_dict()["identifier"][0]["value"] for i in ids}
    assert len(values) == 1
    found = Repository(SYSTEM).search("Appointment", [("identifier", f"{systems.APPOINTMENT_SERIES}|{values.pop()}")])
    assert sorted(m.logical_id for m in found.matches) == sorted(ids)


def test_every_other_week_until_a_date(practice):
    ids = series(practice, every_weeks=2, until=practice + timedelta(weeks=5))
    assert starts(ids) == [f"{practice + timedelta(weeks=n):%m-%d} 09:00 booked" for n in (0, 2, 4)]


def test_one_taken_date_books_none_of_the_series(practice):
    taken_day = practice + timedelta(weeks=2)
    services.book_appointment(SYSTEM, "pat-b", "dr-ruiz", "clinic-main", at(taken_day, 9, 10), "sick")
    services.add_holiday(SYSTEM, practice + timedelta(weeks=3), "Closed")
    before = record_row_counts()
    with pytest.raises(SlotTaken) as caught:
        series(practice, count=4)
    message = str(caught.value)
    assert f"2 of the 4 dates cannot be booked at 09:00: {practice_time.day_text(taken_day)} (taken)" in message
    assert "(outside working hours)" in message and "Nothing was booked" in message
    assert record_row_counts() == before


@pytest.mark.parametrize("options, field", [({}, "count"), ({"count": 1}, "count"), ({"count": 3, "every_weeks": 0},
                                                                                      "every_weeks")])
def test_a_series_needs_a_sensible_length(practice, options, field):
    with pytest.raises(BookingError) as caught:
        series(practice, **options)
    assert caught.value.issues[0].expression == field


def test_edit_one_moves_only_that_appointment(practice, frontdesk):
    ids = series(practice, count=4)
    services.reschedule_appointment(frontdesk, ids[1], at(practice + timedelta(weeks=1, days=1), 10), scope="one")
    assert starts(ids) == [f"{practice:%m-%d} 09:00 booked",
                           f"{practice + timedelta(weeks=1, days=1):%m-%d} 10:00 booked",
                           f"{practice + timedelta(weeks=2):%m-%d} 09:00 booked",
                           f"{practice + timedelta(weeks=3):%m-%d} 09:00 booked"]


def test_edit_future_moves_this_and_the_later_ones_by_the_same_change(practice, frontdesk):
    ids = series(practice, count=4)
    services.reschedule_appointment(frontdesk, ids[1], at(practice + timedelta(weeks=1, days=2), 14, 30),
                                    scope="future")
    assert starts(ids) == [f"{practice:%m-%d} 09:00 booked"] + [
        f"{practice + timedelta(weeks=n, days=2):%m-%d} 14:30 booked" for n in (1, 2, 3)]


def test_edit_future_is_all_or_none(practice, frontdesk):
    ids = series(practice, count=3)
    services.book_appointment(SYSTEM, "pat-b", "dr-ruiz", "clinic-main", at(practice + timedelta(weeks=2), 11), "fu")
    with pytest.raises(SlotTaken):
        services.reschedule_appointment(frontdesk, ids[0], at(practice, 11), scope="future")
    assert starts(ids) == [f"{practice + timedelta(weeks=n):%m-%d} 09:00 booked" for n in range(3)]


def test_cancel_future_leaves_the_earlier_ones(practice, frontdesk):
    ids = series(practice, count=4)
    cancelled = services.cancel_appointment(frontdesk, ids[2], "pat-mv", "Moving away", scope="future")
    assert sorted(cancelled) == sorted(ids[2:])
    assert [s.split()[-1] for s in starts(ids)] == ["booked", "booked", "cancelled", "cancelled"]
