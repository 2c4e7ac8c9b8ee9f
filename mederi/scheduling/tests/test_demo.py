"""The demo schedule loads on top of the demo practice, and loading it again changes nothing."""

from __future__ import annotations

import pytest

from mederi.conftest import record_row_counts
from mederi.core.context import Context
from mederi.fhir.bundles import BundleProcessor
from mederi.fhir.repository import Repository
from mederi.scheduling import practice_time, selectors
from mederi.scheduling.demo import load_demo
from mederi.scheduling.models import WaitlistEntry, WeeklyHours

pytestmark = pytest.mark.django_db


def test_the_demo_schedule_loads_once(settings):
    from mederi.demo import demo_resources

    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in demo_resources()]}
    BundleProcessor(Repository(Context.system("test"))).process(bundle)
    today = practice_time.today()
    summary = load_demo(today)
    assert "new appointments" in summary
    counts = (record_row_counts(), WeeklyHours.objects.count(), WaitlistEntry.objects.count())
    assert "0 new appointments" in load_demo(today)
    assert (record_row_counts(), WeeklyHours.objects.count(), WaitlistEntry.objects.count()) == counts
    first = today
    while first.weekday() >= 5:
        first = first.fromordinal(first.toordinal() + 1)
    calendar = selectors.day_calendar(Context.system("test"), "demo-clinic-main", first)
    states = {b.view.state_label for b in selectors.withdrawn(Context.system("test"), first,
                                                              location_id="demo-clinic-main")} | {
        b.view.state_label for c in calendar.columns for b in c.blocks}
    assert {"Checked out", "In room", "Checked in", "Arrived", "Booked", "No-show", "Cancelled"} <= states
    assert [c.title for c in calendar.columns] == ["Dr Okafor", "Dr Ruiz"]
    # The clinics have rooms, and the day's visits are booked in them.
    from mederi.scheduling import directory

    assert [r.name for r in directory.rooms_of("demo-clinic-main")] == ["Exam 1", "Exam 2", "Exam 3", "Procedure room"]
    rooms_by_doctor = {(c.title, b.room_name) for c in calendar.columns for b in c.blocks}
    assert {("Dr Ruiz", "Exam 1"), ("Dr Okafor", "Exam 2")} <= rooms_by_doctor
