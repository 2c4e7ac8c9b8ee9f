"""Reading and writing the simple X12 value types the eligibility transactions use: dates, amounts, NPIs."""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from .envelope import X12Error

_NUMBER = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_D8 = re.compile(r"[0-9]{8}")  # compiled once: an 835 reads a date per service line


def x12_date(value: dt.date) -> str:
    """CCYYMMDD, the D8 date format."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def read_date(value: str, what: str, index: int | None = None, segment_id: str | None = None) -> dt.date:
    """A D8 date (CCYYMMDD)."""
    if not _D8.fullmatch(value):
        raise X12Error(f"{what} should be a date written CCYYMMDD, but it is {value!r}", index, segment_id)
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise X12Error(f"{what} is not a real date: {value!r}", index, segment_id) from None


def read_period(
    date_format: str, value: str, what: str, index: int | None = None, segment_id: str | None = None
) -> tuple[dt.date, dt.date]:
    """A D8 date (start = end) or an RD8 range (CCYYMMDD-CCYYMMDD), as (start, end)."""
    if date_format == "RD8":
        start, dash, end = value.partition("-")
        if not dash:
            raise X12Error(f"{what} should be a date range CCYYMMDD-CCYYMMDD, but it is {value!r}", index, segment_id)
        return read_date(start, what, index, segment_id), read_date(end, what, index, segment_id)
    if date_format == "D8":
        day = read_date(value, what, index, segment_id)
        return day, day
    raise X12Error(f"{what} uses the date format {date_format!r}; only D8 and RD8 are read", index, segment_id)


def read_decimal(value: str, what: str, index: int | None = None, segment_id: str | None = None) -> Decimal | None:
    """An X12 decimal number (R type) as Decimal, None when the element is empty."""
    if value == "":
        return None
    if not _NUMBER.fullmatch(value):
        raise X12Error(f"{what} should be a number, but it is {value!r}", index, segment_id)
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        raise X12Error(f"{what} should be a number, but it is {value!r}", index, segment_id) from None


def write_decimal(value: Decimal, what: str) -> str:
    """A Decimal as an X12 R value: plain digits, no exponent, no trailing point."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise X12Error(f"{what} must be a finite Decimal, not {value!r}")
    text = format(value, "f")
    return text[:-1] if text.endswith(".") else text


