"""Reading eligibility back: the newest answer per coverage (the schedule's status column) and the failures report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mederi.audit.models import AuditEntry
from mederi.billing import practice
from mederi.billing.models import EligibilityCheck
from mederi.billing.selectors import eligibility_failures, latest_eligibility
from mederi.billing.services import check_eligibility
from mederi.core.errors import Forbidden, InvalidRequest

from .conftest import context_of


def test_the_newest_answer_of_each_coverage_is_returned(https, front_desk, payer):
    payer.override = lambda payload, kind: b"garbage"
    check_eligibility(front_desk, "cov-jane")
    payer.override = None
    newest = check_eligibility(front_desk, "cov-jane")
    ended = check_eligibility(front_desk, "cov-ended")

    latest = latest_eligibility(["cov-jane", "cov-ended", "cov-child", "cov-jane"])

    assert set(latest) == {"cov-jane", "cov-ended"}  # the child's coverage was never checked
    assert latest["cov-jane"] == newest
    assert latest["cov-ended"] == ended
    assert latest_eligibility([]) == {}


def test_a_days_schedule_costs_a_fixed_number_of_queries(https, front_desk):
    for coverage_id in ("cov-jane", "cov-ended", "cov-unknown", "cov-child"):
        check_eligibility(front_desk, coverage_id)

    with CaptureQueriesContext(connection) as two:
        latest_eligibility(["cov-jane", "cov-ended"])
    with CaptureQueriesContext(connection) as four:
        found = latest_eligibility(["cov-jane", "cov-ended", "cov-unknown", "cov-child"])

    assert len(found) == 4
    assert len(four) == len(two)


def test_a_person_looking_is_checked_and_audited(https, front_desk):
    check_eligibility(front_desk, "cov-jane")
    check_eligibility(front_desk, "cov-ended")
    before = AuditEntry.objects.filter(action="search").count()

    latest_eligibility(["cov-jane", "cov-ended"], context_of("nina", "nurse"))

    entries = AuditEntry.objects.filter(action="search").order_by("id")[before:]
    assert {(e.patient_id, e.actor_name, e.query) for e in entries} == {
        ("pat-jane", "nina", "ui: latest eligibility status"), ("pat-ended", "nina", "ui: latest eligibility status")}
    with pytest.raises(Forbidden):
        latest_eligibility(["cov-jane"], context_of("audrey", "auditor"))


def test_the_failures_report_lists_what_went_wrong_in_the_period(https, front_desk):
    check_eligibility(front_desk, "cov-jane")
    ended = check_eligibility(front_desk, "cov-ended")
    unknown = check_eligibility(front_desk, "cov-unknown")
    today = practice.today()

    failures = eligibility_failures(today, today)

    assert [(f.coverage_id, f.status) for f in failures] == [("cov-ended", "inactive"), ("cov-unknown", "rejected")]
    assert failures[0] == ended and failures[1].messages == unknown.messages
    assert eligibility_failures(today - dt.timedelta(days=7), today - dt.timedelta(days=1)) == []


def test_a_period_that_ends_before_it_starts_is_refused(db):
    with pytest.raises(InvalidRequest, match="ends"):
        eligibility_failures(dt.date(2026, 2, 1), dt.date(2026, 1, 1))


def test_checks_are_filed_under_the_practice_day(https, front_desk, settings):
    settings.MEDERI_PRACTICE_TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: often a day ahead of UTC

    summary = check_eligibility(front_desk, "cov-jane")

    check = EligibilityCheck.objects.get(request_id=summary.request_id)
    assert check.checked_on == practice.day_of(check.checked_at) == practice.today()
    assert summary.service_date == practice.today()
