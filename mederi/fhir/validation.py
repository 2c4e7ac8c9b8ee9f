"""Structural validation of FHIR R4 (4.0.1) resources in their JSON form.

The rules come from the official R4 StructureDefinitions, compiled by
`scripts/build_fhir_definitions.py` into `definitions/structure.json.gz` and turned into plain
dicts the first time they are needed. What is checked:

* `resourceType` is present and names a concrete R4 resource type;
* every property is an element of its type (choice elements spelled `valueQuantity` etc., with
  at most one variant present; `_name` siblings only next to primitive elements);
* arrays where the element repeats, single values where it does not, and cardinality bounds;
* required elements (min >= 1), in resources, backbone elements and datatypes;
* primitive values: the JSON type and the R4 lexical rules (regexes, 32-bit integers,
  calendar dates, the 1 MB limit on strings);
* codes of `code`, `Coding` and `CodeableConcept` elements with a required binding to a value set
  small and closed enough to be listed from the R4 package;
* no empty objects, arrays, strings or nulls (except the nulls that align a primitive array
  with its `_name` extension array);
* resources inside resources (`contained`, `Bundle.entry.resource`,
  `Parameters.parameter.resource`) recursively, and no `contained` inside a contained resource.

FHIRPath invariants are not evaluated (dom-2 aside), profiles named in `meta.profile` are not
applied, reference targets are not checked, and the XHTML of narratives is only required to be a
non-empty string. A CodeableConcept under a required binding is judged only when it has codings.
"""

from __future__ import annotations

import difflib
import gzip
import json
import math
import re
from datetime import date as _date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from mederi.core.errors import Issue

if TYPE_CHECKING:
    RESOURCE_TYPES: frozenset[str]  # provided lazily by __getattr__ below

DATA_FILE = Path(__file__).resolve().parent / "definitions" / "structure.json.gz"

__all__ = ["RESOURCE_TYPES", "is_resource_type", "validate_resource"]

# -- primitive checks ------------------------------------------------------------------------
# Each returns None when the value is acceptable, else what is wrong with it. The regexes are
# the R4 ones; re.ASCII gives `\s` the meaning it has in the specification's regex dialect.

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_MAX_STRING = 1024 * 1024


def _show(v) -> str:
    text = v if isinstance(v, str) else json.dumps(v)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _found(v) -> str:
    if v is None:
        return "null"
    if v is True or v is False:
        return "a boolean"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (int, float, Decimal)):
        return "a number"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _expected(what: str, v) -> str:
    return f"expected {what}, found {_found(v)}"


def _c_boolean(v):
    if v is True or v is False:
        return None
    return _expected("a boolean (true or false)", v)


def _int_check(v, low: int, what: str):
    if type(v) is int:
        if low <= v <= _INT_MAX:
            return None
        if v < low:
            return f"{v} is not {what}"
        return f"{v} is out of range (integers are 32-bit: at most {_INT_MAX})"
    if (type(v) is float and v.is_integer()) or (type(v) is Decimal and v.is_finite() and v == v.to_integral_value()):
        return f"expected {what}, found {v!r} (an integer has no decimal point)"
    return _expected(what, v)


def _c_integer(v):
    if type(v) is int and _INT_MIN <= v <= _INT_MAX:
        return None
    if type(v) is int:
        return f"{v} is out of range (integers are 32-bit: {_INT_MIN}..{_INT_MAX})"
    return _int_check(v, _INT_MIN, "an integer")


def _c_positive_int(v):
    if type(v) is int and 0 < v <= _INT_MAX:
        return None
    return _int_check(v, 1, "a positive integer (1 or more)")


def _c_unsigned_int(v):
    if type(v) is int and 0 <= v <= _INT_MAX:
        return None
    return _int_check(v, 0, "an unsigned integer (0 or more)")


def _c_decimal(v):
    t = type(v)
    if t is int or (t is float and math.isfinite(v)) or (t is Decimal and v.is_finite()):
        return None
    return _expected("a number", v)


def _not_str(v):
    if v == "":
        return "must not be empty (omit the element instead)"
    return _expected("a string", v)


def _c_string(v):
    if type(v) is str and v:
        if len(v) > _MAX_STRING:
            return f"is longer than the 1 MB allowed for a string ({len(v)} characters)"
        return None
    return _not_str(v)


def _c_markdown(v):
    if type(v) is str and v:
        return None
    return _not_str(v)


_RE_CODE = re.compile(r"[^\s]+(\s[^\s]+)*", re.ASCII)
_RE_NOSPACE = re.compile(r"\S*", re.ASCII)


def _c_code(v):
    if type(v) is str and v:
        # printable and without spaces means no whitespace at all, the common case
        if (v.isprintable() and " " not in v) or _RE_CODE.fullmatch(v):
            return None
        return f"{_show(v)} is not a valid code (no leading, trailing or repeated whitespace)"
    return _not_str(v)


def _c_uri(v):
    if type(v) is str and v:
        if (v.isprintable() and " " not in v) or _RE_NOSPACE.fullmatch(v):
            return None
        return f"{_show(v)} is not a valid URI (it must not contain whitespace)"
    return _not_str(v)


_RE_ID = re.compile(r"[A-Za-z0-9\-\.]{1,64}")


def _c_id(v):
    if type(v) is str and v:
        if _RE_ID.fullmatch(v):
            return None
        return f"{_show(v)} is not a valid id (1 to 64 characters: letters, digits, '-' and '.')"
    return _not_str(v)


_RE_OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
_RE_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _c_oid(v):
    if type(v) is str and v:
        if _RE_OID.fullmatch(v):
            return None
        return f"{_show(v)} is not a valid oid (urn:oid: followed by a dotted number, e.g. urn:oid:1.2.3)"
    return _not_str(v)


def _c_uuid(v):
    if type(v) is str and v:
        if _RE_UUID.fullmatch(v):
            return None
        return f"{_show(v)} is not a valid uuid (urn:uuid: followed by a lowercase UUID)"
    return _not_str(v)


_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_RE_DATE = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?")
_RE_DATETIME = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?")
_RE_INSTANT = re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}")
_RE_TIME = re.compile(_TIME)

_DATE_FORMAT = "YYYY, YYYY-MM or YYYY-MM-DD"
_DATETIME_FORMAT = "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone, e.g. 2024-01-31T09:30:00Z"
_INSTANT_FORMAT = "YYYY-MM-DDThh:mm:ss[.fff] with a time zone, e.g. 2024-01-31T09:30:00Z"


def _calendar(v: str, what: str):
    # the regexes accept any day 01-31; the date itself must also exist
    if len(v) >= 10:
        try:
            _date(int(v[0:4]), int(v[5:7]), int(v[8:10]))
        except ValueError:
            return f"{_show(v)} is not a valid {what}: {v[:10]} is not a day of the calendar"
    return None


def _c_date(v):
    if type(v) is str and v:
        if _RE_DATE.fullmatch(v):
            return _calendar(v, "date") if len(v) == 10 else None
        return f"{_show(v)} is not a valid date ({_DATE_FORMAT})"
    return _not_str(v)


def _c_datetime(v):
    if type(v) is str and v:
        if _RE_DATETIME.fullmatch(v):
            return _calendar(v, "dateTime") if len(v) >= 10 else None
        return f"{_show(v)} is not a valid dateTime ({_DATETIME_FORMAT})"
    return _not_str(v)


def _c_instant(v):
    if type(v) is str and v:
        if _RE_INSTANT.fullmatch(v):
            return _calendar(v, "instant")
        return f"{_show(v)} is not a valid instant ({_INSTANT_FORMAT})"
    return _not_str(v)


def _c_time(v):
    if type(v) is str and v:
        if _RE_TIME.fullmatch(v):
            return None
        return f"{_show(v)} is not a valid time (hh:mm:ss or hh:mm:ss.fff, without a time zone)"
    return _not_str(v)


_RE_B64 = re.compile(r"[0-9a-zA-Z+/=]+")


def _c_base64(v):
    if type(v) is str and v:
        # same language as the R4 regex (groups of 4 base64 characters, whitespace anywhere
        # between groups), without its backtracking on long values
        packed = "".join(v.split()) if not v.isalnum() or len(v) % 4 else v
        if packed and len(packed) % 4 == 0 and _RE_B64.fullmatch(packed):
            return None
        return "is not valid base64 (groups of 4 characters from A-Z, a-z, 0-9, '+', '/' and '=')"
    return _not_str(v)


_CHECKS = {
    "boolean": _c_boolean,
    "integer": _c_integer,
    "positiveInt": _c_positive_int,
    "unsignedInt": _c_unsigned_int,
    "decimal": _c_decimal,
    "string": _c_string,
    "markdown": _c_markdown,
    "xhtml": _c_markdown,
    "code": _c_code,
    "uri": _c_uri,
    "url": _c_uri,
    "canonical": _c_uri,
    "id": _c_id,
    "oid": _c_oid,
    "uuid": _c_uuid,
    "date": _c_date,
    "dateTime": _c_datetime,
    "instant": _c_instant,
    "time": _c_time,
    "base64Binary": _c_base64,
}

# -- compiled definitions --------------------------------------------------------------------

# element kinds
_PRIM, _COMPLEX, _RESOURCE, _SIBLING, _ABSENT = range(5)


class _Type:
    """The elements of one resource, datatype or backbone element."""

    __slots__ = ("name", "elems", "required", "is_resource")

    def __init__(self, name: str, is_resource: bool):
        self.name = name
        self.is_resource = is_resource
        # JSON property -> (kind, target, many, max, choice, valueSet, min, fhirType)
        #   target: check function (_PRIM), _Type (_COMPLEX), base property name (_SIBLING)
        self.elems: dict[str, tuple] = {}
        # (label, JSON properties any of which satisfies it)
        self.required: list[tuple[str, tuple[str, ...]]] = []


class _ValueSet:
    __slots__ = ("name", "codes", "pairs", "listing")

    def __init__(self, name: str, by_system: dict[str, list[str]]):
        self.name = name
        self.codes = frozenset(c for codes in by_system.values() for c in codes)
        self.pairs = frozenset((s, c) for s, codes in by_system.items() for c in codes)
        ordered = list(dict.fromkeys(c for codes in by_system.values() for c in codes))
        shown = ", ".join(ordered[:12])
        if len(ordered) > 12:
            shown += f", … ({len(ordered)} codes in value set {name})"
        self.listing = shown


class _Definitions:
    def __init__(self, data: dict):
        self.resource_types = frozenset(data["resources"])
        resource_types = self.resource_types
        value_sets = {k: _ValueSet(k, v) for k, v in data["valueSets"].items()}
        types = {name: _Type(name, name in resource_types) for name in data["types"]}
        self.types = types
        for name, elems in data["types"].items():
            t = types[name]
            required = {}
            for prop, (tname, mx, mn, vs, choice, flags) in elems.items():
                many = mx != "1"
                maxn = None if mx in ("*", "1") else int(mx)
                vset = value_sets[vs] if vs else None
                if maxn == 0:
                    t.elems[prop] = (_ABSENT, name, False, 0, choice, None, 0, tname)
                    continue
                if tname in _CHECKS:
                    t.elems[prop] = (_PRIM, _CHECKS[tname], many, maxn, choice, vset, mn, tname)
                    if not flags:
                        t.elems["_" + prop] = (_SIBLING, prop, many, maxn, choice, None, 0, tname)
                elif tname == "Resource":
                    t.elems[prop] = (_RESOURCE, None, many, maxn, choice, None, mn, tname)
                else:
                    t.elems[prop] = (_COMPLEX, types[tname], many, maxn, choice, vset, mn, tname)
                if mn:
                    label = choice or prop
                    names = required.setdefault(label, [])
                    names.append(prop)
                    if not flags and tname in _CHECKS:
                        names.append("_" + prop)
            t.required = [(label, tuple(names)) for label, names in required.items()]
        self.element = types["Element"]


_defs: _Definitions | None = None


def _load() -> _Definitions:
    global _defs
    if _defs is None:
        with gzip.open(DATA_FILE, "rb") as fh:
            _defs = _Definitions(json.loads(fh.read()))
    return _defs


def __getattr__(name: str):
    if name == "RESOURCE_TYPES":
        return _load().resource_types
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_resource_type(name) -> bool:
    """True for the name of a concrete FHIR R4 resource type ("Patient"), False otherwise."""
    return isinstance(name, str) and name in (_defs or _load()).resource_types


# -- validation ------------------------------------------------------------------------------

_EMPTY = "must not be empty (omit the element instead)"


def validate_resource(resource) -> list[Issue]:
    """All the ways `resource` (parsed JSON) breaks the FHIR R4 structure rules; [] when valid."""
    defs = _defs or _load()
    issues: list[Issue] = []
    if type(resource) is not dict:
        issues.append(Issue(f"a resource must be a JSON object, found {_found(resource)}", "structure"))
        return issues
    try:
        _check_resource(defs, resource, "", issues, False)
    except RecursionError:
        issues.append(Issue("the resource is nested too deeply to be processed", "too-costly"))
    return issues


def _check_resource(defs: _Definitions, res: dict, path: str, issues: list, contained: bool) -> None:
    rtype = res.get("resourceType")
    t = defs.types.get(rtype) if type(rtype) is str else None
    if t is None or not t.is_resource:
        where = f"{path}.resourceType" if path else "resourceType"
        if rtype is None:
            msg = "missing 'resourceType' (the type of the resource, e.g. \"Patient\")"
            code = "required"
        elif type(rtype) is not str:
            msg = _expected("a string naming the resource type", rtype)
            code = "structure"
        else:
            msg = f"'{rtype}' is not a FHIR R4 resource type"
            close = difflib.get_close_matches(rtype, defs.resource_types, n=1)
            if close:
                msg += f" (did you mean '{close[0]}'?)"
            code = "structure"
        issues.append(Issue(msg, code, expression=where))
        return
    if contained and "contained" in res:
        issues.append(Issue("a contained resource must not contain other resources (dom-2)", "structure",
                            expression=f"{path}.contained"))
    _check_object(defs, res, t, path or rtype, issues)


def _check_object(defs: _Definitions, obj: dict, t: _Type, path: str, issues: list) -> None:
    elems = t.elems
    choices = None
    for key, val in obj.items():
        spec = elems.get(key)
        if spec is None:
            if key == "resourceType" and t.is_resource:
                continue
            _unknown(t, key, path, issues)
            continue
        kind, target, many, maxn, choice, vset, _mn, tname = spec
        if kind == _ABSENT:
            _absent(t, key, path, issues)
            continue
        if choice is not None:
            if choices is None:
                choices = {}
            first = choices.setdefault(choice if kind != _SIBLING else "_" + choice, key)
            if first != key:
                issues.append(Issue(f"only one of {choice} may be present, found '{first}' and '{key}'",
                                    "structure", expression=f"{path}.{key}"))
                continue
        if val is None:
            issues.append(Issue("must not be null (omit the element instead)", "structure",
                                expression=f"{path}.{key}"))
            continue
        if many:
            if type(val) is not list:
                issues.append(Issue(f"must be an array, found {_found(val)}", "structure",
                                    expression=f"{path}.{key}"))
                continue
            if not val:
                issues.append(Issue(_EMPTY, "structure", expression=f"{path}.{key}"))
                continue
            if maxn is not None and len(val) > maxn:
                issues.append(Issue(f"must have at most {maxn} values, found {len(val)}", "structure",
                                    expression=f"{path}.{key}"))
            if kind == _PRIM:
                for i, v in enumerate(val):
                    if v is None:
                        ext = obj.get("_" + key)
                        if type(ext) is not list or len(ext) <= i or ext[i] is None:
                            issues.append(Issue(
                                f"null is only allowed where '_{key}' has extensions at the same position",
                                "structure", expression=f"{path}.{key}[{i}]"))
                        continue
                    msg = target(v)
                    if msg is not None:
                        issues.append(Issue(msg, "value", expression=f"{path}.{key}[{i}]"))
                    elif vset is not None and v not in vset.codes:
                        _bad_code(v, vset, f"{path}.{key}[{i}]", issues)
            elif kind == _COMPLEX:
                for i, v in enumerate(val):
                    if type(v) is dict and v:
                        _check_object(defs, v, target, f"{path}.{key}[{i}]", issues)
                        if vset is not None:
                            _check_coded(v, tname, vset, f"{path}.{key}[{i}]", issues)
                    else:
                        _bad_object(v, tname, f"{path}.{key}[{i}]", issues)
            elif kind == _RESOURCE:
                for i, v in enumerate(val):
                    _embedded(defs, v, f"{path}.{key}[{i}]", issues, key == "contained")
            else:
                _siblings(defs, obj, key, target, val, path, issues)
        else:
            if type(val) is list:
                issues.append(Issue("must not be an array (the element has at most one value)", "structure",
                                    expression=f"{path}.{key}"))
                continue
            if kind == _PRIM:
                msg = target(val)
                if msg is not None:
                    issues.append(Issue(msg, "value", expression=f"{path}.{key}"))
                elif vset is not None and val not in vset.codes:
                    _bad_code(val, vset, f"{path}.{key}", issues)
            elif kind == _COMPLEX:
                if type(val) is dict and val:
                    _check_object(defs, val, target, f"{path}.{key}", issues)
                    if vset is not None:
                        _check_coded(val, tname, vset, f"{path}.{key}", issues)
                else:
                    _bad_object(val, tname, f"{path}.{key}", issues)
            elif kind == _RESOURCE:
                _embedded(defs, val, f"{path}.{key}", issues, False)
            elif type(val) is dict and val:  # _SIBLING
                _check_object(defs, val, defs.element, f"{path}.{key}", issues)
            else:
                _bad_object(val, "Element", f"{path}.{key}", issues)
    for label, names in t.required:
        for n in names:
            if n in obj:
                break
        else:
            if label.endswith("[x]"):
                options = ", ".join(n for n in names if not n.startswith("_"))
                msg = f"must have at least 1 value (required element missing; one of {options})"
            else:
                msg = "must have at least 1 value (required element missing)"
            issues.append(Issue(msg, "required", expression=f"{path}.{label}"))


def _embedded(defs, v, path: str, issues: list, contained: bool) -> None:
    if type(v) is dict and v:
        _check_resource(defs, v, path, issues, contained)
    elif type(v) is dict:
        issues.append(Issue(_EMPTY, "structure", expression=path))
    else:
        issues.append(Issue(_expected("a resource (a JSON object with a resourceType)", v), "structure",
                            expression=path))


def _bad_object(v, tname: str, path: str, issues: list) -> None:
    if type(v) is dict:
        issues.append(Issue(_EMPTY, "structure", expression=path))
    else:
        kind = tname if "." not in tname else "a group of elements"
        issues.append(Issue(_expected(f"an object ({kind})", v), "structure", expression=path))


def _siblings(defs, obj: dict, key: str, base: str, val: list, path: str, issues: list) -> None:
    values = obj.get(base)
    if values is not None and type(values) is list and len(values) != len(val):
        issues.append(Issue(f"must have as many items as '{base}' ({len(values)}), found {len(val)}",
                            "structure", expression=f"{path}.{key}"))
    element = defs.element
    for i, v in enumerate(val):
        if v is None:
            if type(values) is not list or len(values) <= i or values[i] is None:
                issues.append(Issue(f"null is only allowed where '{base}' has a value at the same position",
                                    "structure", expression=f"{path}.{key}[{i}]"))
        elif type(v) is dict and v:
            _check_object(defs, v, element, f"{path}.{key}[{i}]", issues)
        else:
            _bad_object(v, "Element", f"{path}.{key}[{i}]", issues)


def _bad_code(v, vset: _ValueSet, path: str, issues: list) -> None:
    issues.append(Issue(f"{_show(v)} is not one of the allowed codes: {vset.listing}", "code-invalid",
                        expression=path))


def _check_coded(v: dict, tname: str, vset: _ValueSet, path: str, issues: list) -> None:
    """A Coding, or one of a CodeableConcept's codings, must come from the required value set.

    Only codings that carry a code are judged; a concept given as text alone is left alone.
    """
    if tname == "Coding":
        codings = [v]
    else:
        codings = v.get("coding")
        if type(codings) is not list:
            return
    coded = [c for c in codings
             if type(c) is dict and type(c.get("code")) is str and type(c.get("system", "")) is str]
    if not coded:
        return
    pairs = vset.pairs
    for c in coded:
        if (c.get("system"), c["code"]) in pairs:
            return
    systems = sorted({s for s, _ in pairs})
    found = ", ".join(f"{c.get('system') or '(no system)'}#{c['code']}" for c in coded[:3])
    what = "the coding is" if tname == "Coding" else "none of the codings is"
    issues.append(Issue(
        f"{what} from the required value set {vset.name} (found {found}; allowed: codes of "
        f"{', '.join(systems)}: {vset.listing})", "code-invalid", expression=path))


def _absent(t: _Type, key: str, path: str, issues: list) -> None:
    issues.append(Issue(f"'{key}' is not allowed in a {t.name}", "structure", expression=f"{path}.{key}"))


def _unknown(t: _Type, key: str, path: str, issues: list) -> None:
    msg = f"unknown element '{key}'"
    names = [n for n, s in t.elems.items() if s[0] != _ABSENT]
    groups = {s[4] for s in t.elems.values() if s[4]}
    if key + "[x]" in groups:
        options = [n for n, s in t.elems.items() if s[4] == key + "[x]" and s[0] != _SIBLING]
        msg += f" ({key}[x] takes its type as a suffix: {', '.join(options[:6])}{', …' if len(options) > 6 else ''})"
    elif key.startswith("_") and key[1:] in t.elems:
        msg += f" ('{key[1:]}' cannot carry extensions this way: it is not a primitive element)"
    else:
        close = difflib.get_close_matches(key, names, n=1)
        if close:
            msg += f" (did you mean '{close[0]}'?)"
    issues.append(Issue(msg, "structure", expression=f"{path}.{key}"))
