"""Rules turn into due times the way a front desk expects, in any time zone."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.core.errors import InvalidRequest
from mederi.scheduling.reminders.timing import due_time, local_date_text, local_time_text, practice_timezone

ZONES = ["UTC", "America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney",
         "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns"]
starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
                      timezones=st.just(timezone.utc))


@given(start=starts, zone=st.sampled_from(ZONES), hours=st.integers(1, 72), minutes=st.integers(1, 600))
def test_hours_and_minutes_are_exact_durations(start, zone, hours, minutes):
    assert start - due_time(start, hours, "hours", ZoneInfo(zone)) == timedelta(hours=hours, microseconds=start.microsecond)
    assert start - due_time(start, minutes, "minutes", ZoneInfo(zone)) == timedelta(
        minutes=minutes, microseconds=start.microsecond)


@given(start=starts, zone=st.sampled_from(ZONES), days=st.integers(1, 60))
def test_days_keep_the_wall_clock_time_at_the_practice(start, zone, days):
    tz = ZoneInfo(zone)
    start = start.replace(microsecond=0)
    due = due_time(start, days, "days", tz)
    local_start, local_due = start.astimezone(tz), due.astimezone(tz)
    assert due.tzinfo is not None and due < start
    intended = local_start.replace(tzinfo=None) - timedelta(days=days)
    # Same day count and time of day, except when a daylight-saving change skipped that time on that day.
    round_trip = intended.replace(tzinfo=tz).astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None)
    if round_trip == intended:
        assert local_due.replace(tzinfo=None) == intended
    else:  # the clocks jumped an hour forward over that time: the reminder goes at the time they show
        assert local_due.replace(tzinfo=None) - intended == timedelta(hours=1)
    # Whatever the clocks did, a day before is never less than 23 or more than 25 hours per day.
    assert timedelta(hours=23 * days) <= start - due <= timedelta(hours=25 * days)


def test_three_days_before_a_visit_after_the_clocks_changed_is_at_the_same_local_time():
    new_york = ZoneInfo("America/New_York")
    visit = datetime(2026, 3, 10, 9, 0, tzinfo=new_york)  # Tuesday after the change of Sunday, March 8
    due = due_time(visit.astimezone(timezone.utc), 3, "days", new_york)
    assert due.astimezone(new_york) == datetime(2026, 3, 7, 9, 0, tzinfo=new_york)
    assert visit - due == timedelta(days=3, hours=-1)  # the night of the change was an hour short


def test_an_appointment_without_a_zone_or_an_unknown_unit_is_refused():
    with pytest.raises(InvalidRequest, match="time zone"):
        due_time(datetime(2026, 3, 10, 9, 0), 1, "days", timezone.utc)
    with pytest.raises(InvalidRequest, match="days, hours or minutes"):
        due_time(datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc), 1, "weeks", timezone.utc)


def test_the_practice_zone_comes_from_the_location_then_the_setting(settings):
    settings.MEDERI_PRACTICE_TIME_ZONE = "America/Chicago"
    assert practice_timezone(None) == ZoneInfo("America/Chicago")
    location = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/timezone",
                               "valueCode": "Europe/Berlin"}]}
    assert practice_timezone(location) == ZoneInfo("Europe/Berlin")
    settings.MEDERI_PRACTICE_TIME_ZONE = "Not/AZone"
    assert practice_timezone(None) == timezone.utc
    del settings.MEDERI_PRACTICE_TIME_ZONE
    assert practice_timezone(None) == ZoneInfo("America/Chicago")  # as the scheduling calendar


def test_dates_and_times_read_as_people_say_them():
    moment = datetime(2026, 3, 6, 14, 5, tzinfo=timezone.utc)
    chicago = ZoneInfo("America/Chicago")
    assert local_date_text(moment, chicago) == "Friday, March 6, 2026"
    assert local_time_text(moment, chicago) == "8:05 AM"
    assert local_time_text(datetime(2026, 3, 6, 12, 30, tzinfo=timezone.utc), timezone.utc) == "12:30 PM"
    assert local_time_text(datetime(2026, 3, 6, 0, 15, tzinfo=timezone.utc), timezone.utc) == "12:15 AM"


def test_a_time_the_clocks_skipped_becomes_the_hour_after():
    new_york = ZoneInfo("America/New_York")
    visit = datetime(2026, 3, 9, 2, 30, tzinfo=new_york)  # 2:30 did not exist on Sunday, March 8
    due = due_time(visit.astimezone(timezone.utc), 1, "days", new_york)
    assert due.astimezone(new_york) == datetime(2026, 3, 8, 3, 30, tzinfo=new_york)
