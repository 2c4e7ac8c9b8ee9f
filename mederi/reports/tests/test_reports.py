"""The reports' figures, as a practice manager would read them off the tables (see conftest.py for
what happened in the two weeks every test looks at)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mederi.audit.models import AuditEntry
from mederi.core.errors import Forbidden
from mederi.reports import selectors
from mederi.reports.errors import ReportError
from mederi.reports.tests.conftest import SYSTEM, at, context_of
from mederi.scheduling import services

pytestmark = pytest.mark.django_db


def test_no_show_rate_per_provider_overall_and_per_week(practice):
    report = selectors.no_show_rate(SYSTEM, practice.first, practice.last)

    assert [(r.name, r.due, r.no_shows, r.not_marked, r.rate) for r in report.providers] == [
        ("Dr Okafor", 4, 2, 0, Decimal("50.0")),
        ("Dr Ruiz", 5, 1, 1, Decimal("20.0")),  # the cancelled visit is not counted; the unmarked one is
    ]
    assert (report.total.due, report.total.no_shows, report.total.rate) == (9, 3, Decimal("33.3"))
    assert [(w.first, w.last, w.due, w.no_shows, w.rate) for w in report.weeks] == [
        (practice.first, practice.first + timedelta(days=6), 4, 2, Decimal("50.0")),
        (practice.second_monday, practice.last, 5, 1, Decimal("20.0")),
    ]


def test_appointments_still_ahead_are_not_counted_as_due(practice):
    report = selectors.no_show_rate(SYSTEM, practice.first, practice.next_monday + timedelta(days=6))

    assert (report.total.due, report.total.no_shows) == (9, 3)  # next Monday's booking has not happened yet
    assert [w.due for w in report.weeks] == [4, 5, 0]  # this week has begun; next week has not
    assert report.weeks[2].rate is None


def test_no_show_rate_for_one_location_and_for_one_provider(practice):
    north = selectors.no_show_rate(SYSTEM, practice.first, practice.last, location_id="clinic-north")
    assert [(r.name, r.due, r.no_shows, r.rate) for r in north.providers] == [("Dr Okafor", 1, 1, Decimal("100.0"))]
    assert north.filters.location_name == "North clinic"

    ruiz = selectors.no_show_rate(SYSTEM, practice.first, practice.last, practitioner_id="dr-ruiz")
    assert [(r.name, r.due, r.no_shows) for r in ruiz.providers] == [("Dr Ruiz", 5, 1)]
    assert ruiz.total.rate == Decimal("20.0")

    idle = selectors.no_show_rate(SYSTEM, practice.first, practice.last, practitioner_id="dr-lee")
    assert [(r.name, r.due, r.rate) for r in idle.providers] == [("Dr Lee", 0, None)]


def test_utilization_compares_booked_time_with_open_time(practice):
    report = selectors.provider_utilization(SYSTEM, practice.first, practice.last)

    assert [(r.name, r.location_name, r.open_minutes, r.booked_minutes, r.appointments, r.utilization)
            for r in report.rows] == [
        # 8 weekdays at 240 minutes, less the holiday
        ("Dr Okafor", "Main clinic", 1680, 35, 2, Decimal("2.1")),
        # 2 Fridays of 210 minutes; the only visit there was a no-show, which frees the time
        ("Dr Okafor", "North clinic", 420, 0, 0, Decimal("0.0")),
        # 10 weekdays at 480 minutes, less the holiday and the afternoon away; 40 + 20 + 15 + 40 booked
        ("Dr Ruiz", "Main clinic", 4080, 115, 4, Decimal("2.8")),
    ]
    assert (report.total.open_minutes, report.total.booked_minutes, report.total.utilization) == (
        6180, 150, Decimal("2.4"))
    assert report.rows[2].open_text == "68 h" and report.rows[2].booked_text == "1 h 55 min"


def test_utilization_for_one_provider_at_one_location(practice):
    report = selectors.provider_utilization(SYSTEM, practice.first, practice.last, location_id="clinic-main",
                                            practitioner_id="dr-okafor")

    assert [(r.location_name, r.open_minutes, r.booked_minutes) for r in report.rows] == [("Main clinic", 1680, 35)]


def test_a_booking_changes_the_figures_at_once(practice):
    services.book_appointment(SYSTEM, "pat-d", "dr-okafor", "clinic-north", at(practice.first + timedelta(days=4), 11),
                              "new", allow_past=True)

    report = selectors.provider_utilization(SYSTEM, practice.first, practice.last, location_id="clinic-north")

    assert [(r.booked_minutes, r.appointments, r.utilization) for r in report.rows] == [(40, 1, Decimal("9.5"))]


def test_appointments_by_type_and_status(practice):
    report = selectors.appointments_by_type_and_status(SYSTEM, practice.first, practice.last)

    assert [label for _, label in report.statuses] == ["Booked", "Arrived", "Checked in", "Done", "No-show",
                                                       "Cancelled"]
    assert [(r.name, r.counts, r.total) for r in report.rows] == [
        ("Follow-up", [1, 0, 0, 1, 2, 1], 5),
        ("New patient", [0, 0, 1, 1, 1, 0], 3),
        ("Sick visit", [0, 1, 0, 1, 0, 0], 2),
    ]
    assert (report.status_totals, report.total) == ([1, 1, 1, 3, 3, 1], 10)
    assert report.count("fu", "noshow") == 2 and report.count("sick", "cancelled") == 0

    ahead = selectors.appointments_by_type_and_status(SYSTEM, practice.next_monday, practice.next_monday)
    assert [(r.name, r.counts) for r in ahead.rows] == [("Follow-up", [1])] and ahead.statuses == [("booked", "Booked")]


def test_eligibility_failures_name_the_patient_payer_and_reason(practice):
    report = selectors.eligibility_failures(SYSTEM, practice.first, practice.last)

    assert [(r.patient_text, r.payer_name, r.result, r.reason) for r in report.rows] == [
        ("Peter Chalmers (MRN00001)", "Acme Health", "Not active", "Coverage not active (ended 2025-12-31)"),
        ("Maria Nunez (MRN00002)", "Medicare", "Rejected",
         "The member ID is missing or wrong: check the insurance card. Please correct and resubmit."),
        ("Samir Haddad (MRN00003)", "Acme Health", "Check failed", "Acme Health did not answer within 30 seconds."),
    ]
    assert [r.service_date for r in report.rows] == [practice.second_monday] * 2 + [
        practice.second_monday + timedelta(days=1)]
    assert report.by_payer == [("Acme Health", 2), ("Medicare", 1)]
    assert selectors.eligibility_failures(SYSTEM, practice.last + timedelta(days=1), practice.last + timedelta(days=7)
                                          ).rows == []


def test_each_report_writes_one_audit_entry_with_its_question_and_counts(practice):
    selectors.no_show_rate(context_of("fran", "front_desk"), practice.first, practice.last, location_id="clinic-main")

    entry = AuditEntry.objects.filter(query__startswith="report: ").get()
    assert (entry.action, entry.actor_name, entry.resource_type) == ("search", "fran", "Appointment")
    assert entry.query == (f"report: no-show rate from={practice.first} to={practice.last} location=clinic-main "
                           "provider=all")
    assert json.loads(entry.detail) == {"appointments": 8, "no_shows": 2, "providers": 2}
    assert not entry.patient_id and not entry.references  # aggregates: no patient is shown


def test_the_eligibility_failures_entry_lists_the_patients_shown(practice):
    selectors.eligibility_failures(context_of("fran", "front_desk"), practice.first, practice.last)

    entry = AuditEntry.objects.filter(query__startswith="report: eligibility failures from=").get()
    assert entry.action == "search" and json.loads(entry.detail) == {"failures": 3, "patients": 3}
    assert {"Patient/pat-a", "Patient/pat-b", "Patient/pat-c", "CoverageEligibilityResponse/resp-2"} <= set(
        entry.references)
    assert "Patient/pat-d" not in entry.references


def test_the_reports_cost_the_same_queries_however_busy_the_period_was(practice):
    def queries_for_reports() -> int:
        with CaptureQueriesContext(connection) as captured:
            selectors.no_show_rate(SYSTEM, practice.first, practice.last)
            selectors.provider_utilization(SYSTEM, practice.first, practice.last)
            selectors.appointments_by_type_and_status(SYSTEM, practice.first, practice.last)
        return len(captured)

    queries_for_reports()  # the first report of a period copies its appointments' facts
    quiet = queries_for_reports()
    for hour in (13, 14, 15, 16):
        services.book_appointment(SYSTEM, "pat-d", "dr-ruiz", "clinic-main", at(practice.first, hour), "fu",
                                  allow_past=True)
    queries_for_reports()
    assert queries_for_reports() == quiet


@pytest.mark.parametrize("report", [selectors.no_show_rate, selectors.provider_utilization,
                                    selectors.appointments_by_type_and_status])
def test_scheduling_reports_need_the_permission_to_read_the_schedule(practice, report):
    with pytest.raises(Forbidden, match="scheduling.read"):
        report(context_of("audrey", "auditor"), practice.first, practice.last)


def test_eligibility_failures_need_the_permission_to_read_insurance(practice):
    with pytest.raises(Forbidden, match="insurance.read"):
        selectors.eligibility_failures(context_of("audrey", "auditor"), practice.first, practice.last)


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"date_to": -1}, "date_to", "ends"),
    ({"date_to": 400}, "date_from", "at most a year"),
    ({"location_id": "clinic-south"}, "location", "no location 'clinic-south'"),
    ({"practitioner_id": "dr-nobody"}, "provider", "no provider 'dr-nobody'"),
    ({"date_from": "2026-02-30"}, "date_from", "first day"),
])
def test_bad_filters_are_refused_at_the_filter(practice, changes, field, words):
    asked = {"date_from": practice.first, "date_to": practice.last, "location_id": None, "practitioner_id": None}
    for name, value in changes.items():
        asked[name] = practice.first + timedelta(days=value) if isinstance(value, int) else value
    before = AuditEntry.objects.count()

    with pytest.raises(ReportError, match=words) as refused:
        selectors.appointments_by_type_and_status(SYSTEM, **asked)

    assert refused.value.issues[0].expression == field
    assert AuditEntry.objects.count() == before
