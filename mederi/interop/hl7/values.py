"""HL7 v2 dates and times (DTM/TS) in FHIR's forms.

A time with an offset (`20141006092900+0700`) keeps that offset; a time without one is taken to
be on the practice's clock (the lab and the practice are almost always in the same place), and
is written with that zone's offset on the day, so FHIR's rule that a time carries a zone holds.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

from mederi.interop.hl7.message import HL7Error

_DTM = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?")


def _parts(value: str, where: tuple[str, int]) -> tuple[datetime, int, bool]:
    """(moment, number of digits given before any fraction, whether an offset was written)."""
    match = _DTM.fullmatch(value.strip())
    if not match:
        raise HL7Error(f"'{value}' is not an HL7 date/time (YYYYMMDDHHMMSS with an optional +ZZZZ)",
                       segment=where[0], field=where[1])
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    digits = len("".join(p for p in (year, month, day, hour, minute, second) if p))
    zone = None
    if offset:
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        if hours > 14 or minutes > 59:
            raise HL7Error(f"'{offset}' in '{value}' is not a time-zone offset", segment=where[0], field=where[1])
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        moment = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                          int(second or 0), int((fraction or "0").ljust(6, "0")[:6]), tzinfo=zone)
    except ValueError as error:
        raise HL7Error(f"'{value}' is not a real date or time ({error})", segment=where[0], field=where[1]) from None
    return moment, digits, offset is not None


def fhir_datetime(value: str, zone: tzinfo, where: tuple[str, int]) -> str | None:
    """An HL7 DTM as a FHIR dateTime at the precision written; None for an empty value."""
    if not value.strip():
        return None
    moment, digits, has_offset = _parts(value, where)
    if digits <= 8:
        return moment.strftime({4: "%Y", 6: "%Y-%m"}.get(digits, "%Y-%m-%d"))
    return _with_zone(moment, has_offset, zone).isoformat()


def fhir_instant(value: str, zone: tzinfo, where: tuple[str, int]) -> str | None:
    """An HL7 DTM as a FHIR instant (seconds and a zone; midnight for a bare date)."""
    if not value.strip():
        return None
    moment, _, has_offset = _parts(value, where)
    return _with_zone(moment, has_offset, zone).isoformat()


def _with_zone(moment: datetime, has_offset: bool, zone: tzinfo) -> datetime:
    return moment if has_offset else moment.replace(tzinfo=zone)


def hl7_datetime(moment: datetime) -> str:
    """A moment as HL7 DTM with its offset, to the second: 20260105143000-0600."""
    return moment.strftime("%Y%m%d%H%M%S%z")
