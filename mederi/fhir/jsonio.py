"""FHIR JSON in and out, keeping decimals exactly as written.

FHIR decimals carry their precision (`1.00` is not `1.0`), and money must never pass through a
float. A document is read once with every decimal as a `decimal.Decimal`, noting on the way
whether a float would have kept each one; when all would (`98.6`, `0.5`), it is read again with
floats, which is what most of the system computes with. So a document holds either floats only or
Decimals only, never a mix.
"""

from __future__ import annotations

import math
import threading
from decimal import Decimal

import msgspec
import orjson
import simplejson


class _Reading(threading.local):
    floats = False  # the document has a decimal at all
    inexact = False  # ... and one of them does not survive the round trip through a float


_reading = _Reading()


def _decimal(text: str) -> Decimal:
    number = float(text)
    if math.isinf(number):  # orjson refuses these too; a FHIR decimal cannot be one
        raise ValueError(f"{text} is too large for a number")
    _reading.floats = True
    if not _reading.inexact and repr(number) != text:
        _reading.inexact = True
    return Decimal(text)


_DECIMAL_READER = msgspec.json.Decoder(float_hook=_decimal)
_FLOAT_READER = msgspec.json.Decoder()  # keeps an integer beyond 64 bits whole, as orjson would not


def loads(raw: bytes | str):
    """Parse JSON; raises ValueError (orjson.JSONDecodeError is one) on malformed input."""
    if isinstance(raw, str):
        raw = raw.encode()
    _reading.floats = _reading.inexact = False
    try:
        document = _DECIMAL_READER.decode(raw)
    except msgspec.DecodeError as exc:
        orjson.loads(raw)  # orjson's message, the one every other reader of JSON here gives
        raise ValueError(str(exc)) from None
    if _reading.floats and not _reading.inexact:
        return _FLOAT_READER.decode(raw)
    return document


def exact_decimal(value):
    # orjson writes a Decimal's own digits as a raw number: as exact as simplejson, thirty times faster.
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError


def dumps(document) -> str:
    """Compact JSON text; Decimal values are written with their exact digits."""
    try:
        return orjson.dumps(document, default=exact_decimal).decode()
    except TypeError:
        return simplejson.dumps(document, use_decimal=True, separators=(",", ":"), ensure_ascii=False)
