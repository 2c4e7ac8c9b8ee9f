"""Search-parameter definitions and the extraction of index rows from resources.

The definitions come from `definitions/search_parameters.json` (built by
`scripts/build_search_parameters.py` from the official R4 package). Each parameter carries a
"path program": its FHIRPath expression compiled into a few dictionary walks, which are turned
into Python closures once per resource type. Only expressions outside that subset are evaluated
with fhirpathpy.

Row layouts returned by `extract_index_rows` (one list per kind, duplicates removed):

* token:     (param, system | None, code | None, text | None)   text is normalised
* string:    (param, normalised value, exact value)              both cut to 500 characters
* date:      (param, low | None, high | None)                    aware UTC datetimes;
             low is inclusive, high is EXCLUSIVE; None is an open end
* reference: (param, target_type | None, target_id | None, url | None,
              identifier_system | None, identifier_value | None)
* number:    (param, value: float)
* quantity:  (param, value: float, system | None, code | None, unit | None)
* uri:       (param, value)

Dates carry the range their precision implies: "1999" is [1999-01-01T00:00Z, 2000-01-01T00:00Z),
"1999-03-04T10:15:00+01:00" is [09:15:00Z, 09:15:01Z). Values without a time zone are UTC.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import orjson

from mederi.fhir.values import MAX_STRING, date_or_none, normalize_string

__all__ = [
    "KINDS",
    "SearchParam",
    "extract_index_rows",
    "patient_compartment_params",
    "search_param",
    "search_params_for",
]

KINDS = ("token", "string", "date", "reference", "number", "quantity", "uri")
UTC = timezone.utc
ISO_4217 = "urn:iso:std:iso:4217"

_DEFINITIONS = Path(__file__).resolve().parent / "definitions"


@dataclass(frozen=True)
class SearchParam:
    resource_type: str
    code: str
    type: str  # token, string, date, reference, number, quantity, uri
    expression: str  # FHIRPath, restricted to this resource type
    targets: tuple[str, ...] = ()
    url: str | None = None
    indexed: bool = True  # False for _id and _lastUpdated, answered from the resource table
    uses_fallback: bool = False  # evaluated with fhirpathpy rather than a path program
    program: tuple = field(default=(), compare=False, repr=False)


# --------------------------------------------------------------------------------------------
# Definitions

_lock = threading.Lock()
_params: dict[str, dict[str, SearchParam]] | None = None
_compartment: dict[str, tuple[str, ...]] | None = None
_resource_types: frozenset[str] = frozenset()


def _freeze(value):
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _load() -> dict[str, dict[str, SearchParam]]:
    global _params, _compartment, _resource_types
    if _params is not None:
        return _params
    with _lock:
        if _params is not None:
            return _params
        data = orjson.loads((_DEFINITIONS / "search_parameters.json").read_bytes())
        params: dict[str, dict[str, SearchParam]] = {}
        for rtype, defs in data["resources"].items():
            params[rtype] = {
                code: SearchParam(
                    resource_type=rtype,
                    code=code,
                    type=d["type"],
                    expression=d["expression"],
                    targets=tuple(d.get("targets") or ()),
                    url=d.get("url"),
                    indexed=d.get("indexed", True),
                    uses_fallback=d.get("program") is None,
                    program=_freeze(d.get("program") or []),
                )
                for code, d in defs.items()
            }
        compartment = orjson.loads((_DEFINITIONS / "patient_compartment.json").read_bytes())
        _compartment = {rtype: tuple(codes) for rtype, codes in compartment.items()}
        _resource_types = frozenset(params)
        _params = params
        return params


def search_param(resource_type: str, code: str) -> SearchParam | None:
    """The definition of `code` on `resource_type`, or None when there is none."""
    return _load().get(resource_type, {}).get(code)


def search_params_for(resource_type: str) -> dict[str, SearchParam]:
    """All indexed-kind search parameters of `resource_type` (a fresh dict: code -> definition)."""
    return dict(_load().get(resource_type, {}))


def patient_compartment_params(resource_type: str) -> tuple[str, ...]:
    """Codes of the parameters that place a `resource_type` in a Patient's compartment."""
    _load()
    return _compartment.get(resource_type, ())


# --------------------------------------------------------------------------------------------
# References

_RELATIVE_RE = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?", re.ASCII)
_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}", re.ASCII)


@lru_cache(maxsize=32768)
def _parse_reference(ref: str) -> tuple[str | None, str | None, str | None]:
    """(target_type, target_id, url) for a Reference.reference string."""
    m = _RELATIVE_RE.fullmatch(ref)
    if m and m.group(1) in _resource_types:
        return m.group(1), m.group(2), None
    if "://" in ref:
        path = ref.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        history = path.rfind("/_history/")
        if history != -1:
            path = path[:history]
        parts = path.rsplit("/", 2)
        if len(parts) == 3 and parts[1] in _resource_types and _ID_RE.fullmatch(parts[2]):
            return parts[1], parts[2], ref
    return None, None, ref  # urn:uuid:…, urn:oid:…, #contained, or not understood


def _reference_type(node: Any) -> str | None:
    if type(node) is not dict:
        return None
    ref = node.get("reference")
    if type(ref) is str:
        target = _parse_reference(ref)[0]
        if target:
            return target
    return node.get("type")


# --------------------------------------------------------------------------------------------
# Converters: a value of a known FHIR type -> rows appended to `out`

Emit = Callable[[Any, list], None]

_QUANTITY_TYPES = ("Quantity", "Age", "Duration", "Count", "Distance", "SimpleQuantity", "MoneyQuantity")
_NUMBER_PRIMITIVES = ("decimal", "integer", "positiveInt", "unsignedInt")
_STRING_PRIMITIVES = ("string", "markdown", "code", "id", "uri", "url", "canonical", "oid", "uuid")
_DATE_PRIMITIVES = ("date", "dateTime", "instant", "string")


def _text(s: Any) -> str | None:
    return normalize_string(s) if type(s) is str and s else None


def _token_coding(code: str) -> Emit:
    def emit(c, out):
        if type(c) is not dict:
            return
        system, value = c.get("system"), c.get("code")
        if system is not None or value is not None:
            out.append((code, system, value, _text(c.get("display"))))
        elif c.get("display"):
            out.append((code, None, None, _text(c["display"])))

    return emit


def _token_concept(code: str) -> Emit:
    coding = _token_coding(code)

    def emit(cc, out):
        if type(cc) is not dict:
            return
        codings = cc.get("coding")
        if codings:
            for c in codings:
                coding(c, out)
        text = cc.get("text")
        if text and type(text) is str:
            out.append((code, None, None, normalize_string(text)))

    return emit


def _token_identifier(code: str) -> Emit:
    def emit(ident, out):
        if type(ident) is not dict:
            return
        system, value = ident.get("system"), ident.get("value")
        if system is None and value is None:
            return
        kind = ident.get("type")
        out.append((code, system, value, _text(kind.get("text")) if type(kind) is dict else None))

    return emit


def _token_contact(code: str) -> Emit:
    def emit(cp, out):
        if type(cp) is dict and cp.get("value") is not None:
            out.append((code, cp.get("system"), cp["value"], None))

    return emit


def _token_primitive(code: str) -> Emit:
    def emit(v, out):
        if v is True:
            out.append((code, None, "true", None))
        elif v is False:
            out.append((code, None, "false", None))
        elif type(v) is str:
            out.append((code, None, v, None))
        elif type(v) in (int, float, Decimal):
            out.append((code, None, str(v), None))

    return emit


def _token_quantity(code: str) -> Emit:
    def emit(q, out):
        if type(q) is dict and (q.get("code") is not None or q.get("system") is not None):
            out.append((code, q.get("system"), q.get("code"), _text(q.get("unit"))))

    return emit


def _string_row(code: str, value: Any, out: list) -> None:
    if type(value) is str and value:
        exact = value[:MAX_STRING]
        out.append((code, normalize_string(value)[:MAX_STRING], exact))


def _string_primitive(code: str) -> Emit:
    def emit(v, out):
        _string_row(code, v, out)

    return emit


def _string_name(code: str) -> Emit:
    combine = code in ("name", "phonetic")

    def emit(name, out):
        if type(name) is not dict:
            return
        family = name.get("family")
        given = name.get("given") or ()
        prefix = name.get("prefix") or ()
        suffix = name.get("suffix") or ()
        _string_row(code, family, out)
        for part in given:
            _string_row(code, part, out)
        for part in prefix:
            _string_row(code, part, out)
        for part in suffix:
            _string_row(code, part, out)
        _string_row(code, name.get("text"), out)
        if combine:
            parts = [*prefix, *given, *([family] if family else ()), *suffix]
            if len(parts) > 1:
                _string_row(code, " ".join(p for p in parts if type(p) is str), out)

    return emit


def _string_address(code: str) -> Emit:
    def emit(addr, out):
        if type(addr) is not dict:
            return
        for line in addr.get("line") or ():
            _string_row(code, line, out)
        for key in ("city", "district", "state", "postalCode", "country", "text"):
            _string_row(code, addr.get(key), out)

    return emit


def _string_concept(code: str) -> Emit:
    def emit(cc, out):
        if type(cc) is not dict:
            return
        _string_row(code, cc.get("text"), out)
        for c in cc.get("coding") or ():
            if type(c) is dict:
                _string_row(code, c.get("display"), out)

    return emit


def _string_coding(code: str) -> Emit:
    def emit(c, out):
        if type(c) is dict:
            _string_row(code, c.get("display"), out)

    return emit


def _date_primitive(code: str) -> Emit:
    def emit(v, out):
        if type(v) is str:
            rng = date_or_none(v)
            if rng is not None:
                out.append((code, rng[0], rng[1]))

    return emit


def _period_row(code: str, period: Any, out: list) -> None:
    if type(period) is not dict:
        return
    start, end = period.get("start"), period.get("end")
    low = high = None
    if type(start) is str:
        rng = date_or_none(start)
        low = rng[0] if rng else None
    if type(end) is str:
        rng = date_or_none(end)
        high = rng[1] if rng else None
    if low is not None or high is not None:
        out.append((code, low, high))


def _date_period(code: str) -> Emit:
    def emit(p, out):
        _period_row(code, p, out)

    return emit


def _date_timing(code: str) -> Emit:
    prim = _date_primitive(code)

    def emit(t, out):
        if type(t) is not dict:
            return
        for ev in t.get("event") or ():
            prim(ev, out)
        repeat = t.get("repeat")
        if type(repeat) is dict and "boundsPeriod" in repeat:
            _period_row(code, repeat["boundsPeriod"], out)

    return emit


def _reference_reference(code: str) -> Emit:
    def emit(r, out):
        if type(r) is not dict:
            return
        ref = r.get("reference")
        ident = r.get("identifier")
        isys = ival = None
        if type(ident) is dict:
            isys, ival = ident.get("system"), ident.get("value")
        if type(ref) is str and ref:
            rtype, rid, url = _parse_reference(ref)
            out.append((code, rtype, rid, url, isys, ival))
        elif isys is not None or ival is not None:
            out.append((code, r.get("type"), None, None, isys, ival))

    return emit


def _reference_url(code: str) -> Emit:
    def emit(v, out):
        if type(v) is str and v:
            out.append((code, None, None, v, None, None))

    return emit


def _reference_resource(code: str) -> Emit:
    def emit(res, out):
        if type(res) is dict and res.get("resourceType") and res.get("id"):
            out.append((code, res["resourceType"], res["id"], None, None, None))

    return emit


def _reference_attachment(code: str) -> Emit:
    def emit(a, out):
        if type(a) is dict and type(a.get("url")) is str:
            out.append((code, None, None, a["url"], None, None))

    return emit


def _number(v: Any) -> float | None:
    t = type(v)
    if t is int or t is float or t is Decimal:
        return float(v)
    return None


def _number_primitive(code: str) -> Emit:
    def emit(v, out):
        value = _number(v)
        if value is not None:
            out.append((code, value))

    return emit


def _number_quantity(code: str) -> Emit:
    def emit(q, out):
        if type(q) is dict:
            value = _number(q.get("value"))
            if value is not None:
                out.append((code, value))

    return emit


def _number_range(code: str) -> Emit:
    quantity = _number_quantity(code)

    def emit(r, out):
        if type(r) is dict:
            quantity(r.get("low"), out)
            quantity(r.get("high"), out)

    return emit


def _quantity_quantity(code: str) -> Emit:
    def emit(q, out):
        if type(q) is dict:
            value = _number(q.get("value"))
            if value is not None:
                out.append((code, value, q.get("system"), q.get("code"), q.get("unit")))

    return emit


def _quantity_money(code: str) -> Emit:
    def emit(m, out):
        if type(m) is dict:
            value = _number(m.get("value"))
            if value is not None:
                out.append((code, value, ISO_4217, m.get("currency"), None))

    return emit


def _quantity_range(code: str) -> Emit:
    quantity = _quantity_quantity(code)

    def emit(r, out):
        if type(r) is dict:
            quantity(r.get("low"), out)
            quantity(r.get("high"), out)

    return emit


def _quantity_number(code: str) -> Emit:
    def emit(v, out):
        value = _number(v)
        if value is not None:
            out.append((code, value, None, None, None))

    return emit


def _uri_primitive(code: str) -> Emit:
    def emit(v, out):
        if type(v) is str and v:
            out.append((code, v))

    return emit


def _skip(code: str) -> Emit:
    def emit(v, out):
        return None

    return emit


_CONVERTERS: dict[str, dict[str, Callable[[str], Emit]]] = {
    "token": {
        "Coding": _token_coding,
        "CodeableConcept": _token_concept,
        "Identifier": _token_identifier,
        "ContactPoint": _token_contact,
        **{t: _token_quantity for t in _QUANTITY_TYPES},
    },
    "string": {
        "HumanName": _string_name,
        "Address": _string_address,
        "CodeableConcept": _string_concept,
        "Coding": _string_coding,
    },
    "date": {
        "Period": _date_period,
        "Timing": _date_timing,
        **{t: _date_primitive for t in _DATE_PRIMITIVES},
    },
    "reference": {
        "Reference": _reference_reference,
        "Resource": _reference_resource,
        "Attachment": _reference_attachment,
        **{t: _reference_url for t in ("canonical", "uri", "url", "oid", "uuid")},
    },
    "number": {
        "Range": _number_range,
        **{t: _number_primitive for t in _NUMBER_PRIMITIVES},
        **{t: _number_quantity for t in _QUANTITY_TYPES},
    },
    "quantity": {
        "Money": _quantity_money,
        "Range": _quantity_range,
        "SampledData": _skip,
        **{t: _quantity_quantity for t in _QUANTITY_TYPES},
        **{t: _quantity_number for t in _NUMBER_PRIMITIVES},
    },
    "uri": {t: _uri_primitive for t in ("uri", "url", "canonical", "oid", "uuid", "string", "code", "id")},
}
# Primitive fall-throughs per kind, for types not listed above.
_PRIMITIVE_DEFAULT = {
    "token": _token_primitive,
    "string": _string_primitive,
}
_PRIMITIVE_TYPES = frozenset(
    "base64Binary boolean canonical code date dateTime decimal id instant integer markdown oid "
    "positiveInt string time unsignedInt uri url uuid xhtml".split()
)


def _converter(kind: str, fhir_type: str, code: str) -> Emit:
    if fhir_type == "Extension":
        return _extension_converter(kind, code)
    factory = _CONVERTERS[kind].get(fhir_type)
    if factory is None:
        if fhir_type in _PRIMITIVE_TYPES and kind in _PRIMITIVE_DEFAULT:
            factory = _PRIMITIVE_DEFAULT[kind]
        else:
            factory = _skip
    return factory(code)


def _extension_converter(kind: str, code: str) -> Emit:
    """Index the value[x] of extensions, choosing the converter by the key's type suffix."""
    cache: dict[str, Emit] = {}

    def emit(ext, out):
        if type(ext) is not dict:
            return
        for key, value in ext.items():
            if key.startswith("value") and len(key) > 5:
                conv = cache.get(key)
                if conv is None:
                    suffix = key[5:]
                    lowered = suffix[0].lower() + suffix[1:]
                    fhir_type = lowered if lowered in _PRIMITIVE_TYPES else suffix
                    conv = cache[key] = _converter(kind, fhir_type, code)
                conv(value, out)

    return emit


def _guess_type(kind: str, value: Any) -> str | None:
    """The FHIR type of a value fhirpathpy returned, judged by its shape."""
    if type(value) is bool:
        return "boolean"
    if type(value) in (int, float, Decimal):
        return "decimal"
    if type(value) is str:
        return {"date": "dateTime", "reference": "uri", "uri": "uri", "token": "code"}.get(kind, "string")
    if type(value) is not dict:
        return None
    if "resourceType" in value:
        return "Resource"
    if "coding" in value or (kind == "token" and set(value) <= {"text", "id", "extension"}):
        return "CodeableConcept"
    if "reference" in value or (kind == "reference" and "identifier" in value):
        return "Reference"
    if "start" in value or "end" in value:
        return "Period"
    if "low" in value or "high" in value:
        return "Range"
    if "currency" in value:
        return "Money"
    if "family" in value or "given" in value:
        return "HumanName"
    if "line" in value or "city" in value or "postalCode" in value:
        return "Address"
    if "value" in value and kind in ("quantity", "number"):
        return "Quantity"
    if "code" in value:
        return "Coding"
    if "value" in value:
        return "Identifier"
    return None


# --------------------------------------------------------------------------------------------
# Path programs -> closures


def _step(op: tuple, nxt: Emit) -> Emit:
    name = op[0]
    if name == "key":
        key = op[1]

        def walk(node, out):
            if type(node) is dict:
                v = node.get(key)
                if v is not None:
                    if type(v) is list:
                        for x in v:
                            nxt(x, out)
                    else:
                        nxt(v, out)

        return walk
    if name == "where":
        fld, expected = op[1], op[2]

        def keep(node, out):
            if type(node) is dict and node.get(fld) == expected:
                nxt(node, out)

        return keep
    if name == "resolve":
        types = frozenset(op[1])

        def resolve(node, out):
            if _reference_type(node) in types:
                nxt(node, out)

        return resolve
    if name == "hasext":
        url = op[1]

        def hasext(node, out):
            if type(node) is dict:
                for ext in node.get("extension") or ():
                    if type(ext) is dict and ext.get("url") == url:
                        nxt(node, out)
                        return

        return hasext
    raise ValueError(f"unknown path program step {op!r}")


class _Plan:
    """Per resource type: the closures to run for each top-level property."""

    __slots__ = ("by_key", "fallbacks")

    def __init__(self, resource_type: str):
        self.by_key: dict[str, list[tuple[Emit, str, bool]]] = {}
        self.fallbacks: list[tuple[SearchParam, Any]] = []
        for sp in _load().get(resource_type, {}).values():
            if not sp.indexed:
                continue
            if sp.uses_fallback:
                self.fallbacks.append((sp, None))
                continue
            for steps, fhir_type in sp.program:
                if not steps or steps[0][0] != "key":
                    continue
                first_only = len(steps) > 1 and steps[1][0] == "first"
                rest = [s for s in steps[1:] if s[0] != "first"]
                fn = _converter(sp.type, fhir_type, sp.code)
                for op in reversed(rest):
                    fn = _step(op, fn)
                self.by_key.setdefault(steps[0][1], []).append((fn, sp.type, first_only))


_plans: dict[str, _Plan] = {}
_fhirpath_cache: dict[str, Any] = {}


def _plan(resource_type: str) -> _Plan:
    plan = _plans.get(resource_type)
    if plan is None:
        plan = _plans[resource_type] = _Plan(resource_type)
    return plan


def _fhirpath(expression: str):
    fn = _fhirpath_cache.get(expression)
    if fn is None:
        from fhirpathpy import compile as fp_compile
        from fhirpathpy.models import models

        fn = _fhirpath_cache[expression] = fp_compile(expression, models["r4"])
    return fn


def _run_fallback(sp: SearchParam, resource: dict, out: list) -> None:
    try:
        values = _fhirpath(sp.expression)(resource, {})
    except Exception:  # noqa: BLE001 - an expression fhirpathpy cannot evaluate yields no rows
        return
    for value in values or ():
        fhir_type = _guess_type(sp.type, value)
        if fhir_type is not None:
            _converter(sp.type, fhir_type, sp.code)(value, out)


# --------------------------------------------------------------------------------------------


def extract_index_rows(resource: dict) -> dict[str, list[tuple]]:
    """The search-index rows of `resource`, by kind (see the module docstring for layouts)."""
    resource_type = resource.get("resourceType") if type(resource) is dict else None
    if not resource_type or type(resource_type) is not str:
        raise ValueError("not a FHIR resource: missing resourceType")
    plan = _plans.get(resource_type) or _plan(resource_type)
    outs: dict[str, list[tuple]] = {
        "token": [], "string": [], "date": [], "reference": [], "number": [], "quantity": [], "uri": [],
    }
    by_key = plan.by_key
    for key, value in resource.items():
        entries = by_key.get(key)
        if entries is None:
            continue
        if type(value) is list:
            for fn, kind, first_only in entries:
                out = outs[kind]
                if first_only:
                    if value:
                        fn(value[0], out)
                else:
                    for item in value:
                        fn(item, out)
        else:
            for fn, kind, _first in entries:
                fn(value, outs[kind])
    for sp, _ in plan.fallbacks:
        _run_fallback(sp, resource, outs[sp.type])
    for kind, rows in outs.items():
        if len(rows) > 1:
            outs[kind] = list(dict.fromkeys(rows))
    return outs
