"""The nightly batch: everyone booked for tomorrow is checked once a day, whatever goes wrong for one of them."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from mederi.billing import practice, tasks
from mederi.billing.batch import check_tomorrow
from mederi.billing.models import EligibilityCheck, PayerConnection

from .conftest import coverage, organization, patient, system_repository


def appointment(logical_id: str, patient_id: str, day: dt.date, status: str = "booked", hour: int = 9) -> None:
    start = dt.datetime.combine(day, dt.time(hour), practice.zone()).astimezone(dt.timezone.utc)
    end = start + dt.timedelta(minutes=20)
    system_repository().update("Appointment", logical_id, {
        "resourceType": "Appointment", "id": logical_id, "status": status,
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    })


@pytest.fixture
def tomorrow(https):
    """Jane and the unknown member are booked tomorrow; Richard's visit is cancelled; the child comes the day after."""
    day = practice.today() + dt.timedelta(days=1)
    appointment("appt-jane", "pat-jane", day, hour=9)
    appointment("appt-jane-2", "pat-jane", day, hour=15)  # a second visit the same day: still one check
    appointment("appt-unknown", "pat-unknown", day, hour=23)
    appointment("appt-ended", "pat-ended", day, status="cancelled")
    appointment("appt-child", "pat-child", day + dt.timedelta(days=1))
    return day


def test_everyone_booked_tomorrow_is_checked_once(tomorrow, standin, caplog):
    received = len(standin.received)

    with caplog.at_level(logging.INFO, logger="mederi.billing.batch"):
        report = check_tomorrow()

    assert report.day == tomorrow
    assert (report.appointments, report.patients, report.coverages) == (3, 2, 2)
    assert (report.checked, report.skipped, report.not_active, report.failed) == (2, 0, 1, 0)
    assert report.problems == ["Coverage/cov-unknown: Rejected: The payer can't find this member: check the member "
                               "ID, name and date of birth. Please correct and resubmit."]
    assert len(standin.received) == received + 2
    checks = {c.coverage_id: c for c in EligibilityCheck.objects.all()}
    assert set(checks) == {"cov-jane", "cov-unknown"}
    assert checks["cov-jane"].service_date == tomorrow
    assert "[1/2] Coverage/cov-jane: Active" in caplog.text


def test_running_it_again_the_same_day_sends_nothing(tomorrow, standin):
    check_tomorrow()
    received = len(standin.received)

    again = check_tomorrow()

    assert (again.checked, again.skipped) == (0, 2)
    assert len(standin.received) == received
    assert EligibilityCheck.objects.count() == 2


def test_a_check_that_got_no_answer_is_tried_again(tomorrow, payer, standin):
    payer.override = lambda payload, kind: b"garbage"
    first = check_tomorrow()
    payer.override = None

    second = check_tomorrow()

    assert (first.checked, first.failed) == (2, 2)
    assert (second.checked, second.skipped) == (2, 0)
    assert EligibilityCheck.objects.filter(answered=True).count() == 2


def test_one_coverage_that_cannot_be_checked_does_not_stop_the_others(tomorrow):
    organization("payer-nowhere", "Nowhere Mutual", "pay", [])
    patient("pat-nowhere", "Nowhere", "Nora", "1990-09-09")
    coverage("cov-a-nowhere", "pat-nowhere", "N1", payer_id="payer-nowhere")  # sorts first; no payer id
    appointment("appt-nowhere", "pat-nowhere", tomorrow)

    report = check_tomorrow()

    assert (report.coverages, report.checked, report.failed) == (3, 2, 1)
    assert report.problems[0] == ("Coverage/cov-a-nowhere: Nowhere Mutual has no payer ID: add it in the payer "
                                  "directory, then check again.")
    assert EligibilityCheck.objects.filter(coverage_id="cov-jane", status="active").exists()


def test_only_active_coverages_are_checked(tomorrow):
    coverage("cov-jane-old", "pat-jane", "M100", status="cancelled")

    report = check_tomorrow()

    assert report.coverages == 2
    assert not EligibilityCheck.objects.filter(coverage_id="cov-jane-old").exists()


def test_the_periodic_task_runs_only_in_the_batch_hour(tomorrow, settings):
    settings.MEDERI_ELIGIBILITY_BATCH_HOUR = 2
    today = practice.today()

    assert tasks.run_if_due(dt.datetime.combine(today, dt.time(14, 0), practice.zone())) is None
    assert not EligibilityCheck.objects.exists()
    report = tasks.run_if_due(dt.datetime.combine(today, dt.time(2, 0), practice.zone()))
    assert report.checked == 2


def test_the_huey_task_wakes_at_the_top_of_every_hour():
    from huey.contrib.djhuey import HUEY

    def due(moment: dt.datetime) -> set[str]:
        return {task.name for task in HUEY.read_periodic(moment)}

    assert any(name.endswith("nightly_eligibility") for name in due(dt.datetime(2026, 11, 3, 8, 0)))
    assert not any(name.endswith("nightly_eligibility") for name in due(dt.datetime(2026, 11, 3, 8, 30)))


def test_no_connection_at_all_is_a_problem_line_not_a_crash(tomorrow):
    PayerConnection.objects.all().delete()

    report = check_tomorrow()

    assert (report.checked, report.failed) == (0, 2)
    assert all("no clearinghouse connection" in line for line in report.problems)


def test_appointments_outside_tomorrow_on_the_practice_clock_are_left_out(https, settings):
    settings.MEDERI_PRACTICE_TIME_ZONE = "America/Chicago"
    day = practice.today() + dt.timedelta(days=1)
    appointment("appt-late", "pat-jane", day, hour=23)  # after midnight UTC, still tomorrow in Chicago
    appointment("appt-after", "pat-unknown", day + dt.timedelta(days=1), hour=0)

    report = check_tomorrow()

    assert (report.appointments, report.coverages) == (1, 1)
