"""Search values read the same way when indexing a resource and when parsing a query.

Strings are compared normalised (lower case, accents removed, whitespace collapsed); dates
stand for the range their precision implies, as (low inclusive, high exclusive) UTC instants.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from functools import lru_cache

MAX_STRING = 500  # characters of a string value kept in the index
UTC = timezone.utc


# -- strings ---------------------------------------------------------------------------------


@lru_cache(maxsize=32768)
def _normalize(s: str) -> str:
    if s.isascii():
        return " ".join(s.lower().split())
    decomposed = unicodedata.normalize("NFKD", s)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def normalize_string(s: str) -> str:
    """Lower case, accents removed (NFKD, combining marks dropped), whitespace collapsed."""
    if len(s) > 4 * MAX_STRING:
        return _normalize.__wrapped__(s)
    return _normalize(s)


# -- dates -----------------------------------------------------------------------------------

_DATE_RE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?",
    re.ASCII,
)
_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC)


def parse_date_range(text: str) -> tuple[datetime, datetime]:
    """The instants a FHIR date/dateTime/instant stands for: (low inclusive, high exclusive), UTC.

    Accepts YYYY, YYYY-MM, YYYY-MM-DD and YYYY-MM-DDThh:mm[:ss[.fff…]][Z|±hh:mm]; a value without a
    time zone is taken as UTC. Raises ValueError for anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f"date must be a string, not {type(text).__name__}")
    return _date_range(text)


@lru_cache(maxsize=4096)  # a batch repeats its dates (an 835's payment date, a posting's moment)
def _date_range(text: str) -> tuple[datetime, datetime]:
    m = _DATE_RE.fullmatch(text)
    if m is None:
        raise ValueError(
            f"invalid date {text!r}: expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm]"
        )
    year_s, month_s, day_s, hour_s, minute_s, second_s, frac_s, tz_s = m.groups()
    year = int(year_s)
    if year < 1:
        raise ValueError(f"invalid date {text!r}: year must be 0001 or later")
    try:
        if month_s is None:
            low = datetime(year, 1, 1)
            high = datetime(year + 1, 1, 1) if year < 9999 else None
        elif day_s is None:
            month = int(month_s)
            low = datetime(year, month, 1)
            if month == 12:
                high = datetime(year + 1, 1, 1) if year < 9999 else None
            else:
                high = datetime(year, month + 1, 1)
        elif hour_s is None:
            low = datetime(year, int(month_s), int(day_s))
            high = _add(low, timedelta(days=1))
        else:
            hour, minute = int(hour_s), int(minute_s)
            second = int(second_s) if second_s is not None else 0
            micro = 0
            if second_s is None:
                width = timedelta(minutes=1)
            elif frac_s is None:
                width = timedelta(seconds=1)
            else:
                digits = frac_s[:6]
                micro = int(digits.ljust(6, "0"))
                width = timedelta(microseconds=10 ** (6 - len(digits)))
            low = datetime(year, int(month_s), int(day_s), hour, minute, second, micro)
            high = _add(low, width)
    except ValueError as exc:
        raise ValueError(f"invalid date {text!r}: {exc}") from None
    tz = UTC
    if tz_s and tz_s != "Z":
        hours, minutes = int(tz_s[1:3]), int(tz_s[4:6])
        if hours > 14 or minutes > 59:
            raise ValueError(f"invalid date {text!r}: time zone offset out of range")
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if tz_s[0] == "-" else offset)
    elif tz_s is None and hour_s is not None:
        tz = UTC
    return _to_utc(low, tz, _MIN), (_to_utc(high, tz, _MAX) if high is not None else _MAX)


def _add(value: datetime, delta: timedelta) -> datetime | None:
    try:
        return value + delta
    except OverflowError:
        return None


def _to_utc(value: datetime, tz: timezone, clamp: datetime) -> datetime:
    try:
        return value.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        return clamp


@lru_cache(maxsize=16384)
def date_or_none(text: str) -> tuple[datetime, datetime] | None:
    """`parse_date_range`, or None for text that is not a date (cached: dates repeat a lot)."""
    try:
        return parse_date_range(text)
    except ValueError:
        return None
