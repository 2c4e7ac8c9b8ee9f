"""FHIR search: parameters in, an ordered, paged set of resources out.

A query is compiled straight to one SQL statement over `fhir_resource r` (building it through
the ORM cost several times more than running it). Every search parameter becomes a test that
`r` has a matching row in the parameter's index table; comma-separated values are ORed inside
that test, repeated parameters ANDed. Values only ever travel as parameters (`%s`), never in
the SQL text. Result pages are cut from a snapshot of the ordered ids, so `next` links keep
returning the same result set while other clients write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode

import orjson
from django.conf import settings
from django.db import connection

from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError, NotFound
from mederi.fhir import access, includes, indexing, sensitive, validation, values
from mederi.fhir.models import (
    SearchDate,
    SearchNumber,
    SearchQuantity,
    SearchReference,
    SearchSnapshot,
    SearchString,
    SearchToken,
    SearchUri,
)
from mederi.fhir.rows import NOTHING, SELECT_COLUMNS, Condition, any_of, fetch, load, placeholders

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
RESULT_PARAMS = {
    "_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total", "_format",
    "_pretty", "_snapshot", "_offset", "_contained", "_containedType",
}
SNAPSHOT_LIMIT = 50_000
SNAPSHOT_LIFETIME = timedelta(hours=1)
MODIFIERS_BY_TYPE = {
    "token": {"not", "text", "missing"},
    "string": {"exact", "contains", "missing"},
    "date": {"missing"},
    "number": {"missing"},
    "quantity": {"missing"},
    "uri": {"below", "above", "missing"},
    "reference": {"identifier", "missing"},  # plus a resource type, e.g. subject:Patient
}
INDEX_TABLE_BY_TYPE = {
    kind: model._meta.db_table
    for kind, model in {
        "token": SearchToken,
        "string": SearchString,
        "date": SearchDate,
        "reference": SearchReference,
        "number": SearchNumber,
        "quantity": SearchQuantity,
        "uri": SearchUri,
    }.items()
}
REFERENCE_TABLE = INDEX_TABLE_BY_TYPE["reference"]
# Which index test should find the candidate rows when several are ANDed: a reference usually
# names one patient or encounter, a token one code; dates and numbers match broad ranges.
DRIVER_RANK = {"reference": 0, "token": 1, "uri": 1, "string": 2}


def _error(message: str, code: str = "invalid") -> MederiError:
    return InvalidRequest.single(message, code=code)


def split_escaped(value: str, separator: str) -> list[str]:
    """Split on `separator` except where escaped with a backslash; unescape `\\,` `\\|` `\\$` `\\\\`."""
    parts, current, chars = [], [], iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            current.append(nxt)
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and not value[2].isalpha():
        return value[:2], value[2:]
    return "eq", value


# -- building conditions ---------------------------------------------------------------------------


def _like(column: str, pattern_before: str, text: str, pattern_after: str) -> Condition:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{column} LIKE %s ESCAPE '\\'", [pattern_before + escaped + pattern_after]


def _db_datetime(value):
    # SQLite stores naive UTC text, PostgreSQL a timestamptz: let the backend say which.
    return connection.ops.adapt_datetimefield_value(value)


# -- one parameter value -> a condition on an index row --------------------------------------------


def _search_date_range(raw: str):
    # A '+' of a time zone that the client forgot to percent-encode arrives as a space.
    return values.parse_date_range(raw.replace(" ", "+"))


def _date_condition(prefix: str, raw: str) -> Condition:
    """A date search on an index row's [low, high) range; a null end is open."""
    try:
        low, high = _search_date_range(raw)
    except ValueError as exc:
        raise _error(f"'{raw}' is not a valid date search value: {exc}") from exc
    if prefix == "ap":  # within 10% of the distance between now and the value, on either side
        margin = abs(clock.now() - low) * 0.1
        return "(low < %s OR low IS NULL) AND (high > %s OR high IS NULL)", [
            _db_datetime(high + margin), _db_datetime(low - margin)
        ]
    sql, bound = {
        # `low <= high` bounds the index scan from above too: a row ends after it starts.
        "eq": ("low >= %s AND low <= %s AND high <= %s", (low, high, high)),
        "ne": ("NOT (low >= %s AND high <= %s) OR low IS NULL OR high IS NULL", (low, high)),
        "gt": ("high > %s OR high IS NULL", (high,)),
        "lt": ("low < %s OR low IS NULL", (low,)),
        "ge": ("high > %s OR high IS NULL", (low,)),
        "le": ("low < %s OR low IS NULL", (high,)),
        "sa": ("low >= %s", (high,)),
        "eb": ("high <= %s", (low,)),
    }[prefix]
    return sql, [_db_datetime(value) for value in bound]


def _instant_condition(alias: str, prefix: str, raw: str) -> Condition:
    """A date search on `last_updated`, a point in time rather than a range."""
    try:
        low, high = _search_date_range(raw)
    except ValueError as exc:
        raise _error(f"'{raw}' is not a valid _lastUpdated value: {exc}") from exc
    column = f"{alias}.last_updated"
    if prefix == "ap":
        margin = abs(clock.now() - low) * 0.1
        low, high = low - margin, high + margin
    sql, bound = {
        "eq": (f"{column} >= %s AND {column} < %s", (low, high)),
        "ap": (f"{column} >= %s AND {column} < %s", (low, high)),
        "ne": (f"NOT ({column} >= %s AND {column} < %s)", (low, high)),
        "gt": (f"{column} >= %s", (high,)),
        "sa": (f"{column} >= %s", (high,)),
        "lt": (f"{column} < %s", (low,)),
        "eb": (f"{column} < %s", (low,)),
        "ge": (f"{column} >= %s", (low,)),
        "le": (f"{column} < %s", (high,)),
    }[prefix]
    return sql, [_db_datetime(value) for value in bound]


def _number_condition(prefix: str, raw: str) -> Condition:
    try:
        number = Decimal(raw)
    except InvalidOperation as exc:
        raise _error(f"'{raw}' is not a number") from exc
    if not number.is_finite():
        raise _error(f"'{raw}' is not a finite number")
    # Implicit precision: "100" means [99.5, 100.5), "100.0" means [99.95, 100.05).
    half = Decimal(1).scaleb(number.as_tuple().exponent) / 2
    low, high, value = float(number - half), float(number + half), float(number)
    if prefix == "ap":
        margin = abs(value) * 0.1
        return "value >= %s AND value <= %s", [value - margin, value + margin]
    if prefix in ("eq", "ne"):
        inside = "value >= %s AND value < %s"
        return (inside if prefix == "eq" else f"NOT ({inside})"), [low, high]
    operator = {"gt": ">", "sa": ">", "lt": "<", "eb": "<", "ge": ">=", "le": "<="}[prefix]
    return f"value {operator} %s", [value]


def _token_condition(value: str, modifier: str | None) -> Condition:
    if modifier == "text":
        return _like("text", "%", values.normalize_string(value), "%")
    parts = split_escaped(value, "|")
    if len(parts) == 1:
        return "code = %s", [parts[0]]
    if len(parts) != 2:
        raise _error(f"token '{value}' must be 'code', 'system|code', '|code' or 'system|'")
    system, code = parts
    if system == "":
        return "system IS NULL AND code = %s", [code]
    if code == "":
        return "system = %s", [system]
    if system == sensitive.SSN_SYSTEM:  # indexed as a keyed digest, never as the number
        code = sensitive.index_code(code)
    return "code = %s AND system = %s", [code, system]


def _tokens_by_system(items: list[str]) -> Condition | None:
    """Several plain `system|code` values as one IN list per system, or None when any is of another form.

    A value set (the preventive rules ask for a hundred codes) written as a hundred ORed pairs cost
    PostgreSQL ten times more to plan than to run; IN lists plan at once, and the statement's text no
    longer depends on which codes are asked for, only on how many.
    """
    if len(items) < 2:
        return None
    by_system: dict[str, list[str]] = {}
    for item in items:
        parts = split_escaped(item, "|")
        if len(parts) != 2 or not parts[0] or not parts[1] or parts[0] == sensitive.SSN_SYSTEM:
            return None
        by_system.setdefault(parts[0], []).append(parts[1])
    return any_of([(f"system = %s AND code IN ({', '.join(['%s'] * len(codes))})", [system, *codes])
                   for system, codes in by_system.items()])


def _quantity_condition(value: str) -> Condition:
    prefix, rest = _split_prefix(value)
    parts = split_escaped(rest, "|")
    if len(parts) not in (1, 3):
        raise _error(f"quantity '{value}' must be 'number' or 'number|system|code'")
    sql, params = _number_condition(prefix, parts[0])
    sql = f"({sql})"
    if len(parts) == 3:
        system, code = parts[1], parts[2]
        if system:
            sql, params = sql + " AND system = %s", params + [system]
        if code:
            sql += " AND code = %s" if system else " AND (code = %s OR unit = %s)"
            params += [code] if system else [code, code]
    return sql, params


def _string_condition(value: str, modifier: str | None) -> Condition:
    if modifier == "exact":
        return "exact = %s", [value]
    normal = values.normalize_string(value)
    if modifier == "contains":
        return _like("value", "%", normal, "%")
    return _starts_with("value", normal)


def _starts_with(column: str, text: str) -> Condition:
    """`column LIKE 'text%'` in a form the index answers. PostgreSQL's index on string values is
    built with text_pattern_ops (migration 0004), which serves LIKE prefixes in any collation.
    SQLite uses its index for LIKE only under conditions Django's columns do not meet, so the
    prefix is also given as a range; its BINARY collation orders text by code point, as the range
    assumes."""
    like_sql, like_params = _like(column, "", text, "%")
    if connection.vendor != "sqlite" or not text:
        return like_sql, like_params
    following = ord(text[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters: the next one is U+E000
        following = 0xE000
    after = text[:-1] + chr(following) if following <= 0x10FFFF else None
    if after is None:
        return f"{column} >= %s AND {like_sql}", [text, *like_params]
    return f"{column} >= %s AND {column} < %s AND {like_sql}", [text, after, *like_params]


def _uri_condition(value: str, modifier: str | None) -> Condition:
    if modifier == "below":  # whole path segments: .../fhir is not above .../fhirx
        below_sql, below_params = _like("value", "", value if value.endswith("/") else value + "/", "%")
        return f"value = %s OR {below_sql}", [value, *below_params]
    if modifier == "above":
        pieces = value.split("/")
        parents = ["/".join(pieces[:n]) for n in range(3, len(pieces) + 1)]
        return (f"value IN ({placeholders(parents)})", parents) if parents else NOTHING
    return "value = %s", [value]


def _reference_condition(value: str, modifier: str | None, base_url: str) -> Condition:
    if modifier == "identifier":
        parts = split_escaped(value, "|")
        if len(parts) == 1:
            return "identifier_value = %s", [parts[0]]
        system, code = parts[0], "|".join(parts[1:])
        if system:
            return "identifier_system = %s AND identifier_value = %s", [system, code]
        return "identifier_value = %s", [code]
    if base_url and value.startswith(base_url.rstrip("/") + "/"):
        value = value[len(base_url.rstrip("/")) + 1 :]
    if "://" in value or value.startswith("urn:"):
        if "|" in value:  # canonical|version: only references to that version
            return "url = %s", [value]
        versioned_sql, versioned_params = _like("url", "", value + "|", "%")
        return f"url = %s OR {versioned_sql}", [value, *versioned_params]
    pieces = value.split("/")
    if modifier:  # subject:Patient=123
        return "target_type = %s AND target_id = %s", [modifier, pieces[-1]]
    if len(pieces) >= 2 and validation.is_resource_type(pieces[0]):
        return "target_type = %s AND target_id = %s", [pieces[0], pieces[1]]
    return "target_id = %s", [value]


# -- one parameter -> a clause on the resource row --------------------------------------------------


@dataclass
class _IndexTest:
    """`alias` has (or, negated, has not) a row in an index table matching `where`."""

    alias: str
    table: str
    where: str
    params: list
    negated: bool = False
    rank: int = 3  # lower: better at narrowing the candidates first (DRIVER_RANK)

    def sql(self, drives: bool) -> Condition:
        if drives:  # the candidate ids come from this subquery ...
            return f"{self.alias}.id IN (SELECT resource_id FROM {self.table} WHERE {self.where})", self.params
        # ... and every other test is checked per candidate through the index on resource_id,
        # instead of collecting every matching row (SQLite would do that for a second IN).
        # PostgreSQL would turn the EXISTS into a join and, misjudging how common a code is,
        # start from the wrong table; OFFSET 0 keeps it a per-candidate check.
        fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
        exists = f"EXISTS (SELECT 1 FROM {self.table} WHERE resource_id = {self.alias}.id AND {self.where}{fence})"
        return ("NOT " + exists if self.negated else exists), self.params


def _index_rows(resource_type: str | None, param: str) -> Condition:
    """The rows of one parameter in an index table (of one resource type, unless searching all)."""
    if resource_type is None:
        return "param = %s", [param]
    return "resource_type = %s AND param = %s", [resource_type, param]


def _resource_where(alias: str, resource_type: str | None, clauses: list) -> Condition:
    """The current, not deleted resources of a type (or all types) that satisfy every clause."""
    own: list = [(f"{alias}.deleted = %s", [False])]
    if resource_type:
        own.append((f"{alias}.resource_type = %s", [resource_type]))
    return _all_of(own + clauses)


def _all_of(clauses: list) -> Condition:
    """AND the clauses on one resource row; the best-ranked positive index test drives."""
    positive = [c for c in clauses if isinstance(c, _IndexTest) and not c.negated]
    driver = min(positive, key=lambda c: c.rank) if positive else None
    sqls, params = [], []
    for clause in clauses:
        sql, values = clause.sql(clause is driver) if isinstance(clause, _IndexTest) else clause
        sqls.append(f"({sql})")
        params += values
    return " AND ".join(sqls), params


@dataclass
class _Compiler:
    base_url: str
    strict: bool
    context: Context = field(default_factory=Context.system)
    warnings: list[Issue] = field(default_factory=list)
    aliases: int = 0

    def unknown(self, message: str) -> None:
        if self.strict:
            raise _error(message + " (send 'Prefer: handling=lenient' to ignore it)", code="not-supported")
        self.warnings.append(Issue(message + "; ignored", code="not-supported", severity="warning"))

    def new_alias(self) -> str:
        self.aliases += 1
        return f"r{self.aliases}"

    def where(self, resource_type: str | None, filters: list[tuple[str, str]], alias: str = "r") -> Condition:
        """The WHERE of a search over `fhir_resource {alias}`."""
        clauses = [self.clause(resource_type, name, value, alias) for name, value in filters]
        return _resource_where(alias, resource_type, [c for c in clauses if c is not None])

    def clause(self, resource_type: str | None, name: str, value: str, alias: str):
        """The `_IndexTest` or condition on `alias` for one `name=value` pair; None when ignored."""
        if name.startswith("_has:"):
            return self.has_clause(resource_type, name, value, alias)
        chain = None
        if "." in name:
            name, chain = name.split(".", 1)
        code, _, modifier = name.partition(":")
        modifier = modifier or None
        values = split_escaped(value, ",") if value != "" else []
        if not values:
            raise _error(f"parameter '{name}' has no value")
        if code == "_id":
            operator = "NOT IN" if modifier == "not" else "IN"
            return f"{alias}.logical_id {operator} ({placeholders(values)})", values
        if code == "_lastUpdated":
            return any_of([_instant_condition(alias, *_split_prefix(item)) for item in values])
        param = indexing.search_param(resource_type or "Resource", code)
        if param is None:
            where = resource_type or "all resource types"
            self.unknown(f"'{code}' is not a search parameter of {where}")
            return None
        if chain is not None:
            return self.chain_clause(resource_type, param, modifier, chain, value, alias)
        allowed = MODIFIERS_BY_TYPE.get(param.type, set())
        is_type_modifier = param.type == "reference" and modifier and validation.is_resource_type(modifier)
        if modifier and modifier not in allowed and not is_type_modifier:
            raise _error(f"modifier ':{modifier}' is not supported on {param.type} parameter '{code}'",
                         code="not-supported")
        table = INDEX_TABLE_BY_TYPE[param.type]
        rows_sql, rows_params = _index_rows(resource_type, code)
        rank = DRIVER_RANK.get(param.type, 3)
        if modifier == "missing":
            if value not in ("true", "false"):
                raise _error(f"'{code}:missing' takes true or false, not '{value}'")
            return _IndexTest(alias, table, rows_sql, rows_params, negated=value == "true", rank=rank)
        grouped = _tokens_by_system(values) if param.type == "token" and modifier in (None, "not") else None
        conditions = [grouped] if grouped else []
        for item in values if grouped is None else ():
            try:
                conditions.append(self.value_condition(param, item, modifier))
            except MederiError as exc:
                raise _error(f"search parameter '{name}': {exc}") from exc
        values_sql, values_params = any_of(conditions)
        return _IndexTest(alias, table, f"{rows_sql} AND ({values_sql})", rows_params + values_params,
                          negated=modifier == "not", rank=rank)

    def value_condition(self, param, item: str, modifier: str | None) -> Condition:
        kind = param.type
        if kind == "token":
            return _token_condition(item, modifier)
        if kind == "string":
            return _string_condition(item, modifier)
        if kind == "date":
            return _date_condition(*_split_prefix(item))
        if kind == "number":
            return _number_condition(*_split_prefix(item))
        if kind == "quantity":
            return _quantity_condition(item)
        if kind == "uri":
            return _uri_condition(item, modifier)
        if kind == "reference":
            return _reference_condition(item, modifier, self.base_url)
        raise _error(f"parameter '{param.code}' of type {kind} cannot be searched")

    def chain_clause(self, resource_type, param, modifier, chain: str, value: str, alias: str) -> _IndexTest:
        # subject.name=peter -> references, through `param`, to targets whose name matches
        if param.type != "reference":
            raise _error(f"'{param.code}' is not a reference parameter, so it cannot be chained")
        targets = [modifier] if modifier else list(param.targets)
        inner_name = chain.split(".", 1)[0].split(":", 1)[0]
        candidates = [t for t in targets if inner_name in ("_id", "_lastUpdated") or indexing.search_param(t, inner_name)]
        if not candidates:
            raise _error(f"no target of '{param.code}' has a search parameter '{inner_name}'")
        if modifier:  # a chain searches its targets: the caller must be allowed to search them
            access.require(self.context, modifier, "search")
        else:
            candidates = [t for t in candidates if access.allows(self.context, t, "search")]
        rows_sql, rows_params = _index_rows(resource_type, param.code)
        to_targets = []
        for target in candidates:
            inner = self.new_alias()
            clause = self.clause(target, chain, value, inner)
            if clause is None:
                continue
            inner_sql, inner_params = _resource_where(inner, target, [clause])
            to_targets.append((
                f"target_type = %s AND target_id IN (SELECT {inner}.logical_id FROM fhir_resource {inner}"
                f" WHERE {inner_sql})",
                [target, *inner_params],
            ))
        if to_targets:
            to_sql, to_params = any_of(to_targets)
            rows_sql, rows_params = f"{rows_sql} AND ({to_sql})", rows_params + to_params
        return _IndexTest(alias, REFERENCE_TABLE, rows_sql, rows_params, rank=2)

    def has_clause(self, resource_type, name: str, value: str, alias: str) -> Condition:
        # _has:Observation:patient:code=1234 -> resources referenced by matching Observations
        pieces = name.split(":", 3)
        if len(pieces) < 4 or resource_type is None:
            raise _error(f"'{name}' must look like _has:Type:referenceParam:searchParam")
        _, other_type, ref_param, inner_name = pieces
        if not validation.is_resource_type(other_type):
            raise _error(f"'{other_type}' in '{name}' is not a resource type")
        ref = indexing.search_param(other_type, ref_param)
        if ref is None or ref.type != "reference":
            raise _error(f"'{ref_param}' is not a reference parameter of {other_type}")
        access.require(self.context, other_type, "search")
        inner = self.new_alias()
        clause = self.clause(other_type, inner_name, value, inner)
        inner_sql, inner_params = _resource_where(inner, other_type, [clause] if clause is not None else [])
        return (
            f"{alias}.logical_id IN (SELECT target_id FROM {REFERENCE_TABLE}"
            f" WHERE resource_type = %s AND param = %s AND target_type = %s"
            f" AND resource_id IN (SELECT {inner}.id FROM fhir_resource {inner} WHERE {inner_sql}))",
            [other_type, ref_param, resource_type, *inner_params],
        )


# -- parsing the whole query ---------------------------------------------------------------------


@dataclass
class SearchRequest:
    resource_type: str | None
    filters: list[tuple[str, str]]
    count: int
    offset: int = 0
    sort: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    revinclude: list[str] = field(default_factory=list)
    summary: str | None = None
    elements: list[str] = field(default_factory=list)
    total: str = "accurate"
    snapshot: str | None = None

    def result_params(self) -> list[tuple[str, str]]:
        """The parameters that shape each page, repeated on paging links."""
        params = [("_count", str(self.count))]
        params += [("_sort", ",".join(self.sort))] if self.sort else []
        params += [("_include", v) for v in self.include] + [("_revinclude", v) for v in self.revinclude]
        params += [("_summary", self.summary)] if self.summary else []
        params += [("_elements", ",".join(self.elements))] if self.elements else []
        return params


def parse_request(resource_type: str | None, items: list[tuple[str, str]]) -> SearchRequest:
    count = settings.FHIR_DEFAULT_PAGE_SIZE
    request = SearchRequest(resource_type, [], count)
    for name, value in items:
        if name == "_count":
            if not value.isdigit():
                raise _error(f"_count must be a whole number, not '{value}'")
            request.count = min(int(value), settings.FHIR_MAX_PAGE_SIZE)
        elif name == "_offset":
            if not value.isdigit():
                raise _error(f"_offset must be a whole number, not '{value}'")
            request.offset = int(value)
        elif name == "_sort":
            request.sort += [key for key in value.split(",") if key]
        elif name in ("_include", "_revinclude"):
            getattr(request, name[1:]).append(value)
        elif name.startswith("_include:") or name.startswith("_revinclude:"):
            base, _, modifier = name.partition(":")
            if modifier != "iterate":
                raise _error(f"'{name}' is not supported; use :iterate")
            getattr(request, base[1:]).append(value + ":iterate")
        elif name == "_summary":
            if value not in ("true", "false", "count", "text", "data"):
                raise _error(f"_summary must be true, false, count, text or data, not '{value}'")
            request.summary = None if value == "false" else value
        elif name == "_elements":
            request.elements += [e.strip() for e in value.split(",") if e.strip()]
        elif name == "_total":
            if value not in ("none", "estimate", "accurate"):
                raise _error(f"_total must be none, estimate or accurate, not '{value}'")
            request.total = value
        elif name == "_snapshot":
            request.snapshot = value
        elif name in RESULT_PARAMS:
            continue
        else:
            request.filters.append((name, value))
    return request


def _sort_expression(resource_type: str | None, key: str) -> Condition:
    descending = key.startswith("-")
    code = key.lstrip("-")
    if code == "_id":
        sql, params = "r.logical_id", []
    elif code == "_lastUpdated":
        sql, params = "r.last_updated", []
    else:
        param = indexing.search_param(resource_type or "Resource", code)
        if param is None or param.type not in INDEX_TABLE_BY_TYPE:
            raise _error(f"cannot sort by '{code}': not a search parameter of {resource_type}")
        column = {"date": "high" if descending else "low", "reference": "target_id", "token": "code"}.get(
            param.type, "value"
        )
        # A resource with several values sorts by its first one in the requested direction.
        aggregate = "MAX" if descending else "MIN"
        table = INDEX_TABLE_BY_TYPE[param.type]
        sql = f"(SELECT {aggregate}({column}) FROM {table} WHERE resource_id = r.id AND param = %s)"
        params = [code]
    return f"{sql} {'DESC' if descending else 'ASC'} NULLS LAST", params


@dataclass
class _Query:
    """A compiled search over `fhir_resource r`."""

    where: str
    params: list
    order: str = "r.id"
    order_params: list = field(default_factory=list)

    def rows(self, limit: int) -> list:
        return fetch(f"SELECT {SELECT_COLUMNS} FROM fhir_resource r WHERE {self.where} ORDER BY {self.order} LIMIT %s",
                      [*self.params, *self.order_params, limit])

    def ids(self, limit: int) -> list[int]:
        sql = f"SELECT r.id FROM fhir_resource r WHERE {self.where} ORDER BY {self.order} LIMIT %s"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self.params, *self.order_params, limit])
            return [row[0] for row in cursor.fetchall()]

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM fhir_resource r WHERE {self.where}", self.params)
            return cursor.fetchone()[0]


def build_query(request: SearchRequest, compiler: _Compiler) -> _Query:
    where, params = compiler.where(request.resource_type, request.filters)
    visible = access.visibility(compiler.context, request.resource_type)
    if visible is not None:  # before the query runs: totals and pages count only what the caller may see
        where, params = f"{where} AND ({visible[0]})", [*params, *visible[1]]
    order, order_params = [], []
    for key in request.sort:
        sql, values = _sort_expression(request.resource_type, key)
        order.append(sql)
        order_params += values
    return _Query(where, params, ", ".join([*order, "r.id"]), order_params)


# -- running it ----------------------------------------------------------------------------------


@dataclass
class SearchResult:
    request: SearchRequest
    matches: list  # StoredResource
    included: list
    total: int | None
    snapshot: str | None
    warnings: list[Issue]

    @property
    def has_next(self) -> bool:
        if self.total is None:  # _total=none: a first page keeps a snapshot only when more follow
            return self.snapshot is not None
        return self.request.offset + self.request.count < self.total


def run_search(repository, resource_type: str | None, items, *, base_url: str = "", strict: bool = False,
               first_page_only: bool = False) -> SearchResult:
    """Run a search for the repository's caller. `first_page_only` is for callers inside the
    application that never page on (a search box): no snapshot of the later ids is kept."""
    if resource_type is not None and not validation.is_resource_type(resource_type):
        raise NotFound(f"'{resource_type}' is not a FHIR R4 resource type")
    context = repository.context
    if resource_type is not None:
        access.require(context, resource_type, "search")
    elif not context.authenticated:
        access.require(context, "Patient", "search")  # the 401 of an anonymous caller
    request = parse_request(resource_type, list(items))
    compiler = _Compiler(base_url, strict, context)
    if request.snapshot:
        return _page_from_snapshot(request, compiler)
    query = build_query(request, compiler)
    if request.summary == "count":
        return SearchResult(request, [], [], query.count(), None, compiler.warnings)
    if request.count == 0:
        total = query.count() if request.total != "none" else None
        return SearchResult(request, [], [], total, None, compiler.warnings)
    window = request.offset + request.count + 1
    rows = query.rows(window)
    snapshot = None
    if len(rows) < window:
        total = len(rows)
    elif first_page_only:
        total = query.count() if request.total != "none" else None
    else:
        ids = query.ids(SNAPSHOT_LIMIT)
        total = len(ids) if len(ids) < SNAPSHOT_LIMIT else query.count()
        snapshot = _save_snapshot(request, ids, total, context)
    matches = rows[request.offset : request.offset + request.count]
    included = includes.included(context, request, matches)
    return SearchResult(request, matches, included, total if request.total != "none" else None, snapshot,
                        compiler.warnings)


def snapshot_owner(context: Context) -> str:
    return "system" if context.is_system else f"{context.user_id}|{context.client_id}|{context.patient_id}"


def _save_snapshot(request: SearchRequest, ids: list[int], total: int, context: Context) -> str:
    key = str(uuid.uuid4())
    SearchSnapshot.objects.filter(created__lt=clock.now() - SNAPSHOT_LIFETIME).delete()
    SearchSnapshot.objects.create(
        key=key,
        created=clock.now(),
        resource_type=request.resource_type or "",
        query=urlencode(request.filters),
        ids=orjson.dumps(ids).decode(),
        total=total,
        owner=snapshot_owner(context),
    )
    return key


def _page_from_snapshot(request: SearchRequest, compiler: _Compiler) -> SearchResult:
    snapshot = SearchSnapshot.objects.filter(key=request.snapshot).first()
    if snapshot is None or snapshot.created < clock.now() - SNAPSHOT_LIFETIME \
            or snapshot.owner != snapshot_owner(compiler.context):
        raise NotFound("these search results have expired; run the search again")
    if snapshot.resource_type != (request.resource_type or ""):
        raise _error("this paging link belongs to a search of another resource type")
    request.filters = parse_qsl(snapshot.query, keep_blank_values=True)
    ids = orjson.loads(snapshot.ids)
    # Access may have narrowed since the first page: each page is checked again.
    matches = access.only_visible(compiler.context, load(ids[request.offset : request.offset + request.count]))
    included = includes.included(compiler.context, request, matches)
    return SearchResult(request, matches, included, snapshot.total, snapshot.key, compiler.warnings)


def match_query(resource_type: str, query: str, context: Context) -> list:
    """Up to two resources matching a conditional request's query: enough to tell 0, 1 or many."""
    items = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if not items:
        raise _error(f"the condition '{query}' has no search parameters")
    request = parse_request(resource_type, items)
    return build_query(request, _Compiler("", True, context)).rows(2)
