"""The reports' appointment facts follow the record: whatever changes an appointment, however it is
written, the next report counts it as it now is."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mederi.fhir.repository import Repository
from mederi.reports import facts, selectors
from mederi.reports.models import AppointmentFact
from mederi.reports.tests.conftest import SYSTEM, at
from mederi.scheduling import practice_time, records, services

pytestmark = pytest.mark.django_db


def counts(practice) -> dict[str, int]:
    report = selectors.appointments_by_type_and_status(SYSTEM, practice.first, practice.last)
    return dict(zip([code for code, _ in report.statuses], report.status_totals))


def test_a_status_change_is_counted_at_once(practice):
    assert counts(practice) == {"booked": 1, "arrived": 1, "checked-in": 1, "fulfilled": 3, "noshow": 3,
                                "cancelled": 1}

    services.mark_no_show(SYSTEM, practice.appointments["ruiz-4"])  # the one nobody marked

    assert counts(practice) == {"arrived": 1, "checked-in": 1, "fulfilled": 3, "noshow": 4, "cancelled": 1}
    no_shows = selectors.no_show_rate(SYSTEM, practice.first, practice.last, practitioner_id="dr-ruiz")
    assert (no_shows.total.no_shows, no_shows.total.not_marked, no_shows.total.rate) == (2, 0, Decimal("40.0"))


def test_an_appointment_moved_out_of_the_period_leaves_it(practice):
    counts(practice)

    services.reschedule_appointment(SYSTEM, practice.appointments["ruiz-4"], at(practice.next_monday, 14))

    assert counts(practice)["fulfilled"] == 3 and "booked" not in counts(practice)
    ahead = selectors.appointments_by_type_and_status(SYSTEM, practice.next_monday, practice.next_monday)
    assert ahead.total == 2


def test_appointments_written_by_an_outside_client_or_deleted_are_followed(practice):
    counts(practice)
    repo = Repository(SYSTEM)
    start = practice_time.to_utc(at(practice.second_monday + timedelta(days=2), 15))
    outside = records.appointment_resource(status="fulfilled", patient_id="pat-d", practitioner_id="dr-okafor",
                                           location_id="clinic-main", start=start, end=start + timedelta(minutes=30),
                                           type_code="fu", type_name="Follow-up")
    repo.create(outside, logical_id="from-outside")

    assert counts(practice)["fulfilled"] == 4
    utilization = selectors.provider_utilization(SYSTEM, practice.first, practice.last, practitioner_id="dr-okafor",
                                                 location_id="clinic-main")
    assert utilization.rows[0].booked_minutes == 35 + 30

    repo.delete("Appointment", "from-outside")
    repo.delete("Appointment", practice.appointments["okafor-4"])

    assert counts(practice)["fulfilled"] == 2


def test_a_sync_with_nothing_changed_adds_and_drops_nothing(practice):
    start, end = selectors.check_filters(practice.first, practice.next_monday).bounds

    assert facts.sync(start, end) == (11, 0)
    assert facts.sync(start, end) == (0, 0)
    services.check_in(SYSTEM, practice.appointments["ruiz-4"])
    assert facts.sync(start, end) == (1, 1)
    assert AppointmentFact.objects.count() == 11


def test_the_nightly_job_copies_the_last_year_and_the_months_ahead(practice):
    from mederi.reports.tasks import sync_appointment_facts

    sync_appointment_facts.call_local()

    assert AppointmentFact.objects.count() == 11
    assert AppointmentFact.objects.get(appointment_id=practice.appointments["okafor-2"]).location_id == "clinic-north"
