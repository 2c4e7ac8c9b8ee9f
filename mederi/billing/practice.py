"""The practice's clock: what day it is where the practice works, and the UTC instants that bound a day.

Appointments are stored as UTC instants, but "tomorrow's patients" and "checked today" are days
on the practice's wall clock. The time zone is `settings.MEDERI_PRACTICE_TIME_ZONE` (an IANA name),
America/Chicago when it is not set: the same setting and default the schedule uses, so both agree
on what "tomorrow" is.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from mederi.core import clock

DEFAULT_ZONE = "America/Chicago"


def zone() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "MEDERI_PRACTICE_TIME_ZONE", None) or DEFAULT_ZONE)


def now() -> dt.datetime:
    return clock.now().astimezone(zone())


def today() -> dt.date:
    return now().date()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants where `day` starts and where the next day starts, on the practice's clock."""
    start = dt.datetime.combine(day, dt.time(0), zone())
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone())
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def day_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(zone()).date()
