"""Properties of the small parsers: any text gets an allowed intent, a slot pick by number or by its day and
time finds that slot, minutes late are read back, and hours are written the way they were recorded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mederi.ai.agent import classifier, records

ALLOWED = set(classifier.INTENTS) | {classifier.OTHER_LANGUAGE, classifier.UNKNOWN}
slots = st.lists(st.tuples(st.integers(0, 4), st.integers(7, 17), st.sampled_from([0, 15, 20, 30, 45])),
                 min_size=1, max_size=3, unique=True).map(
    lambda items: [{"weekday": d, "hour": h, "minute": m, "label": "", "start": ""} for d, h, m in items])


@given(st.text(max_size=300))
def test_any_text_gets_an_allowed_intent_and_a_confidence_between_0_and_1(text):
    understood = classifier.understand(text)
    assert understood.intent in ALLOWED and 0.0 <= understood.confidence <= 1.0


@given(slots, st.data())
def test_a_number_picks_that_option(offered, data):
    n = data.draw(st.integers(1, len(offered)))
    assert classifier.picked_option(data.draw(st.sampled_from([f"{n}", f" {n}. ", f"{n} please", f"#{n}"])),
                                    offered) == n - 1
    assert classifier.picked_option(str(len(offered) + 1), offered) is None


@given(slots, st.data())
def test_naming_a_day_and_time_picks_that_slot(offered, data):
    index = data.draw(st.integers(0, len(offered) - 1))
    slot = offered[index]
    day = classifier.WEEKDAYS[slot["weekday"]]
    hour = slot["hour"] % 12 or 12
    text = f"{data.draw(st.sampled_from([day, day[:3], day.title()]))} at {hour}:{slot['minute']:02d}"
    assert classifier.picked_option(text, offered) == index


@given(st.integers(1, 180), st.sampled_from(["{n} min late", "running {n} minutes behind", "be there in {n} mins"]))
def test_minutes_late_are_read_back(n, pattern):
    assert classifier.minutes_late(pattern.format(n=n)) == n


@given(st.lists(st.sampled_from(records.DAY_ORDER), min_size=1, unique=True), st.integers(0, 11),
       st.integers(12, 23))
def test_hours_name_every_open_day_and_their_times(days, opening, closing):
    location = {"hoursOfOperation": [{"daysOfWeek": days, "openingTime": f"{opening:02d}:00:00",
                                      "closingTime": f"{closing:02d}:00:00"}]}
    text = records.hours_text(location)
    assert f"{opening % 12 or 12} AM-{closing % 12 or 12} PM" in text
    assert all(records.open_on(location, records.DAY_ORDER.index(d)) for d in days)
    assert not any(records.open_on(location, n) for n in range(7) if records.DAY_ORDER[n] not in days)
