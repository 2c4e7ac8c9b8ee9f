"""Background jobs of the reports (huey; `mederi worker` runs them)."""

from __future__ import annotations

from datetime import timedelta

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from mederi.reports import facts
from mederi.scheduling import practice_time

# What the nightly sync covers: the longest period a report may ask for, back from today, and
# the months ahead that are already booked.
SYNC_DAYS_BEHIND, SYNC_DAYS_AHEAD = 366, 120


@db_periodic_task(crontab(minute="40", hour="3"))
def sync_appointment_facts() -> tuple[int, int]:
    """Bring the reports' appointment facts up to date overnight, so the first report of the day
    (or the first after an import) parses nothing; the reports sync what changed since on their own."""
    today = practice_time.today()
    first = practice_time.day_bounds(today - timedelta(days=SYNC_DAYS_BEHIND))[0]
    last = practice_time.day_bounds(today + timedelta(days=SYNC_DAYS_AHEAD))[1]
    return facts.sync(first, last)
