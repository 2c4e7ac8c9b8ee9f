"""The practice's wall clock.

Availability templates are local times ("Monday 8:00 to 12:00") of the practice's time zone,
`MEDERI_PRACTICE_TIME_ZONE` (default America/Chicago); Appointment start and end are stored as
UTC instants. Everything that turns one into the other lives here, so a day boundary or a
daylight-saving change is handled in one place.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULT_ZONE = "America/Chicago"


@lru_cache(maxsize=1)
def zone() -> ZoneInfo:
    """The practice's time zone (read once; a changed setting clears the cache, see below)."""
    return ZoneInfo(getattr(settings, "MEDERI_PRACTICE_TIME_ZONE", DEFAULT_ZONE))


@receiver(setting_changed)
def _forget_zone(setting: str, **kwargs) -> None:
    if setting == "MEDERI_PRACTICE_TIME_ZONE":
        zone.cache_clear()


def local(day: date, clock: time) -> datetime:
    """A local wall-clock time of `day` as an aware datetime in the practice's zone."""
    return datetime.combine(day, clock, tzinfo=zone())


def to_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken as the practice's local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone())
    return moment.astimezone(timezone.utc)


def to_local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where local `day` begins and ends (23 or 25 hours on DST changes)."""
    return to_utc(local(day, time(0))), to_utc(local(day + timedelta(days=1), time(0)))


def local_day(moment: datetime) -> date:
    return to_local(moment).date()


def today() -> date:
    from mederi.core import clock

    return local_day(clock.now())


def fhir_instant(moment: datetime) -> str:
    """An Appointment start/end: UTC with a Z, whole seconds."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def clock_text(moment: datetime) -> str:
    """10:30 (local, 24-hour clock, as a front desk reads it)."""
    return to_local(moment).strftime("%H:%M")


def day_text(day: date) -> str:
    """Mon 2 Mar 2026."""
    return f"{day:%a} {day.day} {day:%b %Y}"
