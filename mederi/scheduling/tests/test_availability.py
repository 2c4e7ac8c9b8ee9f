"""The availability math, checked against random templates, exceptions and bookings."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mederi.scheduling import practice_time
from mederi.scheduling.availability import Interval, free_starts, merge, most_overlapping, open_time, subtract

BASE = datetime(2030, 3, 4, tzinfo=timezone.utc)
# Ordinary days and the two daylight-saving changes of 2030 in the practice's zone.
DAYS = [date(2030, 3, 4), date(2030, 3, 10), date(2030, 11, 3), date(2030, 6, 19)]


def minutes_of(intervals) -> set[int]:
    covered = set()
    for interval in intervals:
        first = int((interval.start - BASE).total_seconds() // 60)
        last = int((interval.end - BASE).total_seconds() // 60)
        covered.update(range(first, last))
    return covered


def utc_interval(start_min: int, length: int) -> Interval:
    return Interval(BASE + timedelta(minutes=start_min), BASE + timedelta(minutes=start_min + length))


intervals = st.lists(st.builds(utc_interval, st.integers(0, 600), st.integers(0, 120)), max_size=8)


@given(intervals, intervals)
def test_merge_and_subtract_agree_with_minute_sets(keep, remove):
    assert minutes_of(merge(keep)) == minutes_of(keep)
    merged = merge(keep)
    assert all(a.end < b.start for a, b in zip(merged, merged[1:]))  # sorted, apart, not touching
    assert minutes_of(subtract(keep, remove)) == minutes_of(keep) - minutes_of(remove)


def clock(minute_of_day: int) -> time:
    return time(minute_of_day // 60, minute_of_day % 60)


@st.composite
def clock_ranges(draw, max_size=3):
    ranges = []
    for _ in range(draw(st.integers(0, max_size))):
        start = draw(st.integers(6 * 12, 20 * 12)) * 5  # 06:00 to 20:00, five-minute steps
        length = draw(st.integers(1, 48)) * 5
        end = min(start + length, 23 * 60 + 55)
        if end > start:
            ranges.append((clock(start), clock(end)))
    return ranges


@st.composite
def day_intervals(draw, day, max_size=4):
    """Intervals (UTC) in and around the local day, on a five-minute grid."""
    first, _ = practice_time.day_bounds(day)
    found = []
    for _ in range(draw(st.integers(0, max_size))):
        start = first + timedelta(minutes=draw(st.integers(-12, 24 * 12)) * 5)
        found.append(Interval(start, start + timedelta(minutes=draw(st.integers(1, 36)) * 5)))
    return found


@st.composite
def scenarios(draw):
    day = draw(st.sampled_from(DAYS))
    return {
        "day": day,
        "hours": draw(clock_ranges()),
        "breaks": draw(clock_ranges(2)),
        "closed": draw(day_intervals(day, 2)),
        "extra": draw(day_intervals(day, 2)),
        "holiday": draw(st.booleans()),
        "busy": draw(day_intervals(day, 6)),
        "minutes": draw(st.sampled_from([10, 15, 20, 30, 40, 60])),
    }


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_free_slot_touches_a_booking_a_break_or_a_closed_time(case):
    day = case["day"]
    open_intervals = open_time(day, case["hours"], case["breaks"], case["closed"], case["extra"], case["holiday"])
    starts = free_starts(open_intervals, case["busy"], case["minutes"])
    length = timedelta(minutes=case["minutes"])
    breaks = [Interval(practice_time.to_utc(practice_time.local(day, s)), practice_time.to_utc(practice_time.local(day, e)))
              for s, e in case["breaks"]]
    hours = [Interval(practice_time.to_utc(practice_time.local(day, s)), practice_time.to_utc(practice_time.local(day, e)))
             for s, e in case["hours"]]
    day_start, day_end = practice_time.day_bounds(day)
    assert starts == sorted(set(starts))
    for start in starts:
        slot = Interval(start, start + length)
        assert not subtract([slot], open_intervals), "a slot lies in open time"
        assert not any(slot.overlaps(b) for b in case["busy"]), "a slot overlaps a booking"
        assert not any(slot.overlaps(c) for c in case["closed"]), "a slot overlaps a closed exception"
        assert day_start <= slot.start and slot.end <= day_end
        assert not subtract([slot], hours + case["extra"]), "a slot lies within weekly or extra hours"
        if not any(slot.overlaps(e) for e in case["extra"]):
            assert not any(slot.overlaps(b) for b in breaks), "a slot overlaps a break"
            assert not case["holiday"], "a holiday has only its extra hours"


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_every_free_stretch_long_enough_offers_its_first_moment(case):
    day = case["day"]
    open_intervals = open_time(day, case["hours"], case["breaks"], case["closed"], case["extra"], case["holiday"])
    starts = set(free_starts(open_intervals, case["busy"], case["minutes"]))
    for gap in subtract(open_intervals, case["busy"]):
        if gap.end - gap.start >= timedelta(minutes=case["minutes"]):
            assert gap.start in starts
            assert gap.end - timedelta(minutes=case["minutes"]) in starts  # and its last


@given(intervals, st.builds(utc_interval, st.integers(0, 600), st.integers(1, 120)))
def test_most_overlapping_counts_the_busiest_moment(existing, wanted):
    busiest = 0
    for minute in minutes_of([wanted]):
        moment = Interval(BASE + timedelta(minutes=minute), BASE + timedelta(minutes=minute + 1))
        busiest = max(busiest, sum(1 for e in existing if e.overlaps(moment)))
    assert most_overlapping(existing, wanted) == busiest


def test_not_before_skips_the_past_part_of_the_day():
    day = DAYS[0]
    open_intervals = open_time(day, [(time(8), time(12))])
    now = practice_time.to_utc(practice_time.local(day, time(9, 7)))
    starts = free_starts(open_intervals, [], 20, not_before=now)
    assert [practice_time.clock_text(s) for s in starts[:2]] == ["09:15", "09:30"]


def test_hours_across_a_daylight_saving_change_keep_their_wall_clock():
    spring_forward = date(2030, 3, 10)
    (interval,) = open_time(spring_forward, [(time(8), time(12))])
    assert practice_time.clock_text(interval.start) == "08:00"
    assert interval.end - interval.start == timedelta(hours=4)
