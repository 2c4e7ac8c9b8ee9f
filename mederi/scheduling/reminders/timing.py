"""When a reminder is due, and how the practice's clock shows a time to a patient.

A rule "3 days before" means three calendar days earlier at the same wall-clock time where the
practice is, so a 9:00 visit gets its reminder at 9:00 even across a daylight-saving change; "2
hours before" is exactly two hours. Appointments are stored as UTC instants.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from mederi.core import systems
from mederi.core.errors import InvalidRequest

TIMEZONE_EXTENSION = systems.TIMEZONE_EXTENSION
DEFAULT_ZONE = "America/Chicago"  # the same default as the scheduling calendar's


def practice_timezone(location: dict | None = None) -> tzinfo:
    """The Location's time zone (the `timezone` extension) or MEDERI_PRACTICE_TIME_ZONE (America/Chicago)."""
    name = None
    for extension in (location or {}).get("extension") or []:
        if extension.get("url") == TIMEZONE_EXTENSION and extension.get("valueCode"):
            name = extension["valueCode"]
    name = name or getattr(settings, "MEDERI_PRACTICE_TIME_ZONE", None) or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def due_time(start: datetime, amount: int, unit: str, zone: tzinfo) -> datetime:
    """The UTC instant a reminder `amount unit` before `start` is due."""
    if start.tzinfo is None:
        raise InvalidRequest.single("an appointment start needs a time zone (FHIR instants end in Z or an offset)")
    if unit == "days":
        local = start.astimezone(zone).replace(tzinfo=None) - timedelta(days=amount)
        # A wall-clock time skipped by a daylight-saving change maps to the hour after, as clocks do.
        due = local.replace(tzinfo=zone).astimezone(timezone.utc)
    elif unit in ("hours", "minutes"):
        due = start.astimezone(timezone.utc) - timedelta(**{unit: amount})
    else:
        raise InvalidRequest.single(f"'{unit}' is not an offset unit; use days, hours or minutes",
                                    expression="offset_unit")
    return due.replace(microsecond=0)


def parse_instant(text: str | None) -> datetime | None:
    """A FHIR instant/dateTime with a time and zone -> an aware datetime, None if absent or partial."""
    if not text or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def local_date_text(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%A}, {local:%B} {local.day}, {local.year}"


def local_time_text(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
