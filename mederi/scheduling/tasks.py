"""Background jobs of scheduling (huey; `mederi worker` runs them)."""

from __future__ import annotations

from datetime import timedelta

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from mederi.scheduling import practice_time, projection

# How far the hourly copy of bookings reaches: yesterday to four months ahead.
REFRESH_DAYS_BEHIND, REFRESH_DAYS_AHEAD = 1, 120


@db_periodic_task(crontab(minute="17"))
def refresh_busy_times() -> int:
    """Copy appointments written outside the scheduling services (FHIR API, imports) into BusyTime."""
    today = practice_time.today()
    first = practice_time.day_bounds(today - timedelta(days=REFRESH_DAYS_BEHIND))[0]
    last = practice_time.day_bounds(today + timedelta(days=REFRESH_DAYS_AHEAD))[1]
    return projection.rebuild(first, last)
