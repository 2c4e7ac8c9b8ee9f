"""Booking rules: what gets stored, what is refused and why, and that a refusal stores nothing."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from mederi.conftest import record_row_counts
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.scheduling import availability, practice_time, services
from mederi.scheduling.errors import BookingError, NotPermitted, SlotTaken
from mederi.scheduling.records import STAGE_URL
from mederi.scheduling.tests.conftest import SYSTEM, at

pytestmark = pytest.mark.django_db


def stored(appointment_id: str) -> dict:
    return Repository(SYSTEM).read("Appointment", appointment_id).as_dict()


def test_a_booking_is_an_appointment_in_the_record(practice, frontdesk):
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10, 30), "fu",
                                               comment="blood pressure check")
    resource = stored(appointment_id)
    start = practice_time.to_utc(at(practice, 10, 30))
    assert resource["status"] == "booked"
    assert resource["start"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert resource["end"] == (start + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert resource["minutesDuration"] == 20
    assert resource["appointmentType"]["coding"][0] == {"system": systems.APPOINTMENT_TYPE, "code": "fu",
                                                        "display": "Follow-up"}
    assert [p["actor"]["reference"] for p in resource["participant"]] == [
        "Patient/pat-a", "Practitioner/dr-ruiz", "Location/clinic-main"]
    assert resource["comment"] == "blood pressure check"
    # The search index sees it like any other Appointment.
    found = Repository(SYSTEM).search("Appointment", [("practitioner", "dr-ruiz"), ("patient", "pat-a")])
    assert [m.logical_id for m in found.matches] == [appointment_id]


def test_the_same_time_cannot_be_booked_twice(practice, frontdesk):
    services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10, 30), "fu")
    before = record_row_counts()
    with pytest.raises(SlotTaken) as caught:
        services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 10, 40), "sick")
    assert str(caught.value) == ("start: That time was just booked by someone else: 10:40 with Dr Ruiz. "
                                 "Choose another time.")
    assert record_row_counts() == before
    # Another provider at the same time is fine.
    services.book_appointment(frontdesk, "pat-b", "dr-okafor", "clinic-main", at(practice, 10, 40), "sick")


def test_back_to_back_appointments_fit(practice, frontdesk):
    services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10, 0), "fu")
    services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 10, 20), "fu")


@pytest.mark.parametrize("hour, minute, why", [(12, 10, "lunch"), (7, 30, "before opening"), (16, 50, "runs past 17:00")])
def test_times_outside_the_providers_hours_are_refused(practice, frontdesk, hour, minute, why):
    with pytest.raises(BookingError) as caught:
        services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, hour, minute), "fu")
    assert "Dr Ruiz is not working at Main clinic" in str(caught.value), why
    assert caught.value.issues[0].expression == "start"


def test_overbooking_needs_the_flag_and_stays_within_the_providers_rule(practice, frontdesk):
    services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9), "fu")
    with pytest.raises(SlotTaken):  # the default rule: no overlap at all
        services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 9), "fu", overbook=True)
    services.set_overbook_limit(SYSTEM, "dr-ruiz", 2)
    with pytest.raises(SlotTaken):  # without the flag, still refused
        services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 9), "fu")
    services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 9), "fu", overbook=True)
    with pytest.raises(SlotTaken) as caught:
        services.book_appointment(frontdesk, "pat-c", "dr-ruiz", "clinic-main", at(practice, 9, 10), "fu",
                                  overbook=True)
    assert "takes at most 2 overlapping appointments" in str(caught.value)


def test_an_auditor_cannot_book(practice):
    from mederi.accounts.context import context_for_user
    from mederi.conftest import staff_user

    auditor = context_for_user(staff_user("audrey", "auditor"))
    with pytest.raises(NotPermitted):
        services.book_appointment(auditor, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")


@pytest.mark.parametrize("change, field, message", [
    ({"type_code": "surgery"}, "type_code", "There is no appointment type 'surgery'. Choose one of:"),
    ({"patient_id": "nobody"}, "patient_id", "There is no patient 'nobody' in the record."),
    ({"practitioner_id": "dr-nobody"}, "practitioner_id", "There is no provider 'dr-nobody'"),
    ({"start": "2026-02-30 10:00"}, "start", "is not a date and time"),
    ({"start": datetime(2020, 3, 2, 10, 0)}, "start", "has already passed"),
])
def test_bad_input_gets_a_clear_message_and_stores_nothing(practice, frontdesk, change, field, message):
    arguments = {"patient_id": "pat-a", "practitioner_id": "dr-ruiz", "location_id": "clinic-main",
                 "start": at(practice, 10), "type_code": "fu", **change}
    before = record_row_counts()
    with pytest.raises(BookingError) as caught:
        services.book_appointment(frontdesk, **arguments)
    assert caught.value.issues[0].expression == field
    assert message in caught.value.issues[0].diagnostics
    assert record_row_counts() == before


def test_an_aware_start_is_taken_as_the_instant_it_is(practice, frontdesk):
    start_utc = practice_time.to_utc(at(practice, 11))
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main",
                                               start_utc.astimezone(timezone(timedelta(hours=5))), "fu")
    assert stored(appointment_id)["start"] == start_utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_cancelling_needs_a_reason_and_frees_the_time(practice, frontdesk):
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    before = record_row_counts()
    for code, text, field in (("", "", "reason_code"), ("made-up", "", "reason_code"), ("other", " ", "reason_text")):
        with pytest.raises(BookingError) as caught:
            services.cancel_appointment(frontdesk, appointment_id, code, text)
        assert caught.value.issues[0].expression == field
    assert record_row_counts() == before
    services.cancel_appointment(frontdesk, appointment_id, "pat-fb", "Feeling better, will call back")
    resource = stored(appointment_id)
    assert resource["status"] == "cancelled"
    assert resource["cancelationReason"] == {
        "coding": [{"system": systems.CANCEL_REASON, "code": "pat-fb", "display": "Patient: feeling better"}],
        "text": "Feeling better, will call back"}
    services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    with pytest.raises(BookingError):  # cancelled stays cancelled
        services.cancel_appointment(frontdesk, appointment_id, "pat", "again")


def test_a_visit_moves_through_its_stages(practice, frontdesk):
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    seen = []
    for action in ("arrive", "check-in", "room", "check-out"):
        view = services.change_stage(frontdesk, appointment_id, action)
        resource = stored(appointment_id)
        stage = [e["valueCode"] for e in resource.get("extension", []) if e["url"] == STAGE_URL]
        seen.append((resource["status"], stage, view.state_label))
    assert seen == [("arrived", ["arrived"], "Arrived"), ("checked-in", ["checked-in"], "Checked in"),
                    ("checked-in", ["in-room"], "In room"), ("fulfilled", ["checked-out"], "Checked out")]
    with pytest.raises(BookingError) as caught:
        services.change_stage(frontdesk, appointment_id, "no-show")
    assert "does not apply now" in str(caught.value)


def test_a_no_show_no_longer_occupies_the_time(practice, frontdesk):
    appointment_id = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    services.mark_no_show(frontdesk, appointment_id)
    assert stored(appointment_id)["status"] == "noshow"
    services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 10), "fu")


def test_rescheduling_moves_the_appointment_and_checks_the_new_time(practice, frontdesk):
    first = services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    services.book_appointment(frontdesk, "pat-b", "dr-ruiz", "clinic-main", at(practice, 11), "fu")
    with pytest.raises(SlotTaken):
        services.reschedule_appointment(frontdesk, first, at(practice, 11, 10))
    services.reschedule_appointment(frontdesk, first, at(practice + timedelta(days=1), 9, 0),
                                    practitioner_id="dr-okafor")
    resource = stored(first)
    assert resource["start"] == practice_time.fhir_instant(at(practice + timedelta(days=1), 9))
    assert "Practitioner/dr-okafor" in [p["actor"]["reference"] for p in resource["participant"]]
    # Moving within its own old time is not a conflict with itself.
    services.reschedule_appointment(frontdesk, first, at(practice + timedelta(days=1), 9, 10))


def test_holidays_breaks_and_exceptions_close_time(practice, frontdesk):
    services.add_holiday(SYSTEM, practice, "Founders' day")
    with pytest.raises(BookingError):
        services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 10), "fu")
    tuesday = practice + timedelta(days=1)
    services.add_break(SYSTEM, "dr-ruiz", "clinic-main", 1, time(10), time(10, 30), label="Huddle")
    with pytest.raises(BookingError):
        services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(tuesday, 10, 15), "sick")
    services.add_exception(SYSTEM, "dr-ruiz", at(tuesday, 14), at(tuesday, 16), "closed", reason="Hospital rounds")
    with pytest.raises(BookingError):
        services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(tuesday, 15), "fu")
    services.add_exception(SYSTEM, "dr-ruiz", at(practice, 9), at(practice, 11), "extra_hours",
                           location_id="clinic-main", reason="Clinic on the holiday morning")
    services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 9, 30), "fu")


@pytest.mark.parametrize("call, field", [
    (lambda: services.add_weekly_hours(SYSTEM, "dr-ruiz", "clinic-north", 2, time(12), time(8)), "end"),
    (lambda: services.add_weekly_hours(SYSTEM, "dr-ruiz", "clinic-north", 0, time(9), time(10)), "start"),
    (lambda: services.add_weekly_hours(SYSTEM, "dr-ruiz", "clinic-north", 5, time(9), time(10),
                                       valid_from=date(2030, 5, 1), valid_to=date(2030, 4, 1)), "valid_to"),
    (lambda: services.add_exception(SYSTEM, "dr-ruiz", datetime(2030, 5, 2, 12), datetime(2030, 5, 2, 9),
                                    "closed"), "end"),
    (lambda: services.add_exception(SYSTEM, "dr-ruiz", datetime(2030, 5, 2, 9), datetime(2030, 5, 2, 12),
                                    "extra_hours"), "location_id"),
    (lambda: services.add_break(SYSTEM, "dr-ruiz", "clinic-main", 9, time(12), time(13)), "weekday"),
    (lambda: services.save_appointment_type(SYSTEM, "long", "Long", 0), "minutes"),
    (lambda: services.save_appointment_type(SYSTEM, "pink", "Pink", 20, "pink"), "colour"),
])
def test_bad_templates_are_refused_at_the_field(practice, call, field):
    from mederi.scheduling.models import Break, ScheduleException, WeeklyHours

    counts = (WeeklyHours.objects.count(), Break.objects.count(), ScheduleException.objects.count())
    with pytest.raises(BookingError) as caught:
        call()
    assert caught.value.issues[0].expression == field
    assert (WeeklyHours.objects.count(), Break.objects.count(), ScheduleException.objects.count()) == counts


def test_ensure_schedule_writes_one_schedule_per_provider_and_location(practice):
    schedule_id = services.ensure_schedule("dr-ruiz", "clinic-main")
    assert services.ensure_schedule("dr-ruiz", "clinic-main") == schedule_id
    schedule = Repository(SYSTEM).read("Schedule", schedule_id).as_dict()
    assert schedule["actor"] == [{"reference": "Practitioner/dr-ruiz"}, {"reference": "Location/clinic-main"}]
    found = Repository(SYSTEM).search("Schedule", [("actor", "Practitioner/dr-ruiz")])
    assert [m.logical_id for m in found.matches] == [schedule_id]


def test_free_slots_leave_out_what_is_booked(practice, frontdesk):
    services.book_appointment(frontdesk, "pat-a", "dr-ruiz", "clinic-main", at(practice, 8), "fu")
    slots = availability.free_slots(frontdesk, "dr-ruiz", "clinic-main", practice, "fu")
    starts = [practice_time.clock_text(s.start) for s in slots]
    assert starts[:4] == ["08:20", "08:30", "08:45", "09:00"]
    assert starts[starts.index("11:30") + 1 : starts.index("11:30") + 3] == ["11:40", "13:00"]
    assert starts[-1] == "16:40"


def test_next_available_searches_across_providers_and_days(practice, frontdesk):
    # Ruiz is away Monday morning; Okafor works only afternoons this week (closed mornings).
    services.add_exception(SYSTEM, "dr-ruiz", at(practice, 0), at(practice, 12), "closed")
    for offset in range(5):
        day = practice + timedelta(days=offset)
        services.add_exception(SYSTEM, "dr-okafor", at(day, 0), at(day, 12), "closed")
    slots = availability.next_available(frontdesk, type_code="new", start_date=practice, limit=3,
                                        time_of_day="morning")
    assert [(s.practitioner_id, s.local_start.date(), practice_time.clock_text(s.start)) for s in slots] == [
        ("dr-ruiz", practice + timedelta(days=1), "08:00"), ("dr-ruiz", practice + timedelta(days=1), "08:15"),
        ("dr-ruiz", practice + timedelta(days=1), "08:30")]
    slots = availability.next_available(frontdesk, practitioner_ids=["dr-okafor"], type_code="new",
                                        start_date=practice, limit=2, weekdays=[2])
    assert [(s.local_start.date(), practice_time.clock_text(s.start)) for s in slots] == [
        (practice + timedelta(days=2), "13:00"), (practice + timedelta(days=2), "13:15")]


def test_a_system_context_may_book_history(practice):
    last_monday = practice - timedelta(days=14)
    appointment_id = services.book_appointment(Context.system("demo"), "pat-a", "dr-ruiz", "clinic-main",
                                               at(last_monday, 9), "fu", allow_past=True)
    assert stored(appointment_id)["status"] == "booked"
