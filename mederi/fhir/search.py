"""FHIR search: parameters in, an ordered, paged set of resources out.

A query is compiled into one SQL statement over `fhir_resource` in which every search
parameter becomes an `IN (subquery)` on its index table; comma-separated values are ORed,
repeated parameters ANDed. Result pages are cut from a snapshot of the ordered ids, so
`next` links keep returning the same result set while other clients write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode

import orjson
from django.conf import settings
from django.db.models import F, OuterRef, Q, Subquery

from mederi.core import clock
from mederi.core.errors import InvalidRequest, Issue, MederiError, NotFound
from mederi.fhir import indexing, validation
from mederi.fhir.models import (
    Resource,
    SearchDate,
    SearchNumber,
    SearchQuantity,
    SearchReference,
    SearchSnapshot,
    SearchString,
    SearchToken,
    SearchUri,
)

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
INDEX_BY_TYPE = {
    "token": SearchToken,
    "string": SearchString,
    "date": SearchDate,
    "reference": SearchReference,
    "number": SearchNumber,
    "quantity": SearchQuantity,
    "uri": SearchUri,
}


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


# -- one parameter value -> a Q on the index table ---------------------------------------------


def _rows(model, resource_type: str | None, param: str):
    rows = model.objects.filter(param=param)
    return rows.filter(resource_type=resource_type) if resource_type else rows


def _search_date_range(raw: str):
    # A '+' of a time zone that the client forgot to percent-encode arrives as a space.
    return indexing.parse_date_range(raw.replace(" ", "+"))


def _date_q(prefix: str, raw: str, low_field: str = "low", high_field: str = "high") -> Q:
    try:
        low, high = _search_date_range(raw)
    except ValueError as exc:
        raise _error(f"'{raw}' is not a valid date search value: {exc}") from exc
    open_low = Q(**{f"{low_field}__isnull": True})
    open_high = Q(**{f"{high_field}__isnull": True})
    if prefix == "eq":
        return Q(**{f"{low_field}__gte": low, f"{high_field}__lte": high})
    if prefix == "ne":
        return ~Q(**{f"{low_field}__gte": low, f"{high_field}__lte": high}) | open_low | open_high
    if prefix == "gt":
        return Q(**{f"{high_field}__gt": high}) | open_high
    if prefix == "lt":
        return Q(**{f"{low_field}__lt": low}) | open_low
    if prefix == "ge":
        return Q(**{f"{high_field}__gt": low}) | open_high
    if prefix == "le":
        return Q(**{f"{low_field}__lt": high}) | open_low
    if prefix == "sa":
        return Q(**{f"{low_field}__gte": high})
    if prefix == "eb":
        return Q(**{f"{high_field}__lte": low})
    # ap: within 10% of the distance between now and the value, on either side.
    margin = abs(clock.now() - low) * 0.1
    return (Q(**{f"{low_field}__lt": high + margin}) | open_low) & (Q(**{f"{high_field}__gt": low - margin}) | open_high)


def _instant_q(prefix: str, raw: str) -> Q:
    """A date search on `Resource.last_updated`, a point in time rather than a range."""
    try:
        low, high = _search_date_range(raw)
    except ValueError as exc:
        raise _error(f"'{raw}' is not a valid _lastUpdated value: {exc}") from exc
    inside = Q(last_updated__gte=low, last_updated__lt=high)
    if prefix == "ap":
        margin = abs(clock.now() - low) * 0.1
        return Q(last_updated__gte=low - margin, last_updated__lt=high + margin)
    return {
        "eq": inside,
        "ne": ~inside,
        "gt": Q(last_updated__gte=high),
        "sa": Q(last_updated__gte=high),
        "lt": Q(last_updated__lt=low),
        "eb": Q(last_updated__lt=low),
        "ge": Q(last_updated__gte=low),
        "le": Q(last_updated__lt=high),
    }[prefix]


def _number_q(prefix: str, raw: str, column: str = "value") -> Q:
    try:
        number = Decimal(raw)
    except InvalidOperation as exc:
        raise _error(f"'{raw}' is not a number") from exc
    if not number.is_finite():
        raise _error(f"'{raw}' is not a finite number")
    # Implicit precision: "100" means [99.5, 100.5), "100.0" means [99.95, 100.05).
    half = Decimal(1).scaleb(number.as_tuple().exponent) / 2
    low, high, value = float(number - half), float(number + half), float(number)
    if prefix == "eq":
        return Q(**{f"{column}__gte": low, f"{column}__lt": high})
    if prefix == "ne":
        return ~Q(**{f"{column}__gte": low, f"{column}__lt": high})
    if prefix in ("gt", "sa"):
        return Q(**{f"{column}__gt": value})
    if prefix in ("lt", "eb"):
        return Q(**{f"{column}__lt": value})
    if prefix == "ge":
        return Q(**{f"{column}__gte": value})
    if prefix == "le":
        return Q(**{f"{column}__lte": value})
    margin = abs(value) * 0.1
    return Q(**{f"{column}__gte": value - margin, f"{column}__lte": value + margin})


def _token_value_q(value: str, modifier: str | None) -> Q:
    if modifier == "text":
        return Q(text__contains=indexing.normalize_string(value))
    parts = split_escaped(value, "|")
    if len(parts) == 1:
        return Q(code=parts[0])
    if len(parts) != 2:
        raise _error(f"token '{value}' must be 'code', 'system|code', '|code' or 'system|'")
    system, code = parts
    if system == "":
        return Q(system__isnull=True, code=code)
    if code == "":
        return Q(system=system)
    return Q(system=system, code=code)


def _quantity_value_q(value: str) -> Q:
    prefix, rest = _split_prefix(value)
    parts = split_escaped(rest, "|")
    if len(parts) not in (1, 3):
        raise _error(f"quantity '{value}' must be 'number' or 'number|system|code'")
    q = _number_q(prefix, parts[0])
    if len(parts) == 3:
        system, code = parts[1], parts[2]
        if system:
            q &= Q(system=system)
        if code:
            q &= Q(code=code) if system else (Q(code=code) | Q(unit=code))
    return q


def _reference_value_q(value: str, modifier: str | None, base_url: str) -> Q:
    if modifier == "identifier":
        parts = split_escaped(value, "|")
        if len(parts) == 1:
            return Q(identifier_value=parts[0])
        system, code = parts[0], "|".join(parts[1:])
        return Q(identifier_system=system, identifier_value=code) if system else Q(identifier_value=code)
    if base_url and value.startswith(base_url.rstrip("/") + "/"):
        value = value[len(base_url.rstrip("/")) + 1 :]
    if "://" in value or value.startswith("urn:"):
        if "|" in value:  # canonical|version: only references to that version
            return Q(url=value)
        return Q(url=value) | Q(url__startswith=value + "|")
    pieces = value.split("/")
    if modifier:  # subject:Patient=123
        return Q(target_type=modifier, target_id=pieces[-1])
    if len(pieces) >= 2 and validation.is_resource_type(pieces[0]):
        return Q(target_type=pieces[0], target_id=pieces[1])
    return Q(target_id=value)


@dataclass
class _Compiler:
    base_url: str
    strict: bool
    warnings: list[Issue] = field(default_factory=list)

    def unknown(self, message: str) -> None:
        if self.strict:
            raise _error(message + " (send 'Prefer: handling=lenient' to ignore it)", code="not-supported")
        self.warnings.append(Issue(message + "; ignored", code="not-supported", severity="warning"))

    def filter_q(self, resource_type: str | None, name: str, value: str) -> Q | None:
        """The Q on `Resource` for one `name=value` pair, or None when it is ignored."""
        if name.startswith("_has:"):
            return self.has_q(resource_type, name, value)
        chain = None
        if "." in name:
            name, chain = name.split(".", 1)
        code, _, modifier = name.partition(":")
        modifier = modifier or None
        values = split_escaped(value, ",") if value != "" else []
        if not values:
            raise _error(f"parameter '{name}' has no value")
        if code == "_id":
            return Q(logical_id__in=values) if modifier != "not" else ~Q(logical_id__in=values)
        if code == "_lastUpdated":
            q = Q()
            for item in values:
                prefix, raw = _split_prefix(item)
                q |= _instant_q(prefix, raw)
            return q
        if resource_type is None:
            param = indexing.search_param("Resource", code)
        else:
            param = indexing.search_param(resource_type, code)
        if param is None:
            where = resource_type or "all resource types"
            self.unknown(f"'{code}' is not a search parameter of {where}")
            return None
        if chain is not None:
            return self.chain_q(resource_type, param, modifier, chain, value)
        allowed = MODIFIERS_BY_TYPE.get(param.type, set())
        is_type_modifier = param.type == "reference" and modifier and validation.is_resource_type(modifier)
        if modifier and modifier not in allowed and not is_type_modifier:
            raise _error(f"modifier ':{modifier}' is not supported on {param.type} parameter '{code}'",
                         code="not-supported")
        model = INDEX_BY_TYPE[param.type]
        rows = _rows(model, resource_type, code)
        if modifier == "missing":
            if value not in ("true", "false"):
                raise _error(f"'{code}:missing' takes true or false, not '{value}'")
            present = Q(pk__in=rows.values("resource_id"))
            return ~present if value == "true" else present
        negate = modifier == "not"
        q = Q()
        for item in values:
            try:
                q |= self.value_q(param, item, modifier)
            except MederiError as exc:
                raise _error(f"search parameter '{name}': {exc}") from exc
        matched = Q(pk__in=rows.filter(q).values("resource_id"))
        return ~matched if negate else matched

    def value_q(self, param, item: str, modifier: str | None) -> Q:
        kind = param.type
        if kind == "token":
            return _token_value_q(item, modifier)
        if kind == "string":
            normal = indexing.normalize_string(item)
            if modifier == "exact":
                return Q(exact=item)
            if modifier == "contains":
                return Q(value__contains=normal)
            return Q(value__startswith=normal)
        if kind == "date":
            return _date_q(*_split_prefix(item))
        if kind == "number":
            return _number_q(*_split_prefix(item))
        if kind == "quantity":
            return _quantity_value_q(item)
        if kind == "uri":
            if modifier == "below":  # whole path segments: .../fhir is not above .../fhirx
                return Q(value=item) | Q(value__startswith=item if item.endswith("/") else item + "/")
            if modifier == "above":
                pieces = item.split("/")
                return Q(value__in=["/".join(pieces[:n]) for n in range(3, len(pieces) + 1)])
            return Q(value=item)
        if kind == "reference":
            return _reference_value_q(item, modifier, self.base_url)
        raise _error(f"parameter '{param.code}' of type {kind} cannot be searched")

    def chain_q(self, resource_type, param, modifier, chain: str, value: str) -> Q:
        if param.type != "reference":
            raise _error(f"'{param.code}' is not a reference parameter, so it cannot be chained")
        targets = [modifier] if modifier else list(param.targets)
        inner_name = chain.split(".", 1)[0].split(":", 1)[0]
        candidates = [t for t in targets if inner_name in ("_id", "_lastUpdated") or indexing.search_param(t, inner_name)]
        if not candidates:
            raise _error(f"no target of '{param.code}' has a search parameter '{inner_name}'")
        rows = _rows(SearchReference, resource_type, param.code)
        q = Q()
        for target in candidates:
            inner = self.filter_q(target, chain, value)
            if inner is None:
                continue
            target_ids = Resource.objects.filter(resource_type=target, deleted=False).filter(inner)
            q |= Q(target_type=target, target_id__in=target_ids.values("logical_id"))
        return Q(pk__in=rows.filter(q).values("resource_id"))

    def has_q(self, resource_type, name: str, value: str) -> Q:
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
        inner = self.filter_q(other_type, inner_name, value)
        others = Resource.objects.filter(resource_type=other_type, deleted=False)
        if inner is not None:
            others = others.filter(inner)
        refs = SearchReference.objects.filter(
            resource_type=other_type, param=ref_param, target_type=resource_type, resource_id__in=others.values("pk")
        )
        return Q(logical_id__in=refs.values("target_id"))


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


def _sort_expression(resource_type: str | None, key: str):
    descending = key.startswith("-")
    code = key.lstrip("-")
    if code == "_id":
        expression = F("logical_id")
    elif code == "_lastUpdated":
        expression = F("last_updated")
    else:
        param = indexing.search_param(resource_type or "Resource", code)
        if param is None or param.type not in INDEX_BY_TYPE:
            raise _error(f"cannot sort by '{code}': not a search parameter of {resource_type}")
        model = INDEX_BY_TYPE[param.type]
        column = {"date": "high" if descending else "low", "reference": "target_id", "token": "code"}.get(
            param.type, "value"
        )
        ordering = f"-{column}" if descending else column
        rows = model.objects.filter(resource_id=OuterRef("pk"), param=code).order_by(ordering).values(column)[:1]
        expression = Subquery(rows)
    return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)


def build_queryset(request: SearchRequest, compiler: _Compiler):
    rows = Resource.objects.filter(deleted=False)
    if request.resource_type:
        rows = rows.filter(resource_type=request.resource_type)
    for name, value in request.filters:
        q = compiler.filter_q(request.resource_type, name, value)
        if q is not None:
            rows = rows.filter(q)
    ordering = [_sort_expression(request.resource_type, key) for key in request.sort]
    return rows.order_by(*ordering, "pk")


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


def _stored(rows) -> list:
    from mederi.fhir.repository import StoredResource

    return [
        StoredResource(pk, rt, lid, vid, lu, False, content)
        for pk, rt, lid, vid, lu, content in rows
    ]


_COLUMNS = ("pk", "resource_type", "logical_id", "version_id", "last_updated", "content")


def _load(pks: list[int]) -> list:
    by_pk = {
        row[0]: row for row in Resource.objects.filter(pk__in=pks, deleted=False).values_list(*_COLUMNS)
    }
    return _stored([by_pk[pk] for pk in pks if pk in by_pk])


def run_search(repository, resource_type: str | None, items, *, base_url: str = "", strict: bool = False
               ) -> SearchResult:
    if resource_type is not None and not validation.is_resource_type(resource_type):
        raise NotFound(f"'{resource_type}' is not a FHIR R4 resource type")
    request = parse_request(resource_type, list(items))
    compiler = _Compiler(base_url, strict)
    if request.snapshot:
        return _page_from_snapshot(request, compiler)
    queryset = build_queryset(request, compiler)
    if request.summary == "count":
        return SearchResult(request, [], [], queryset.count(), None, compiler.warnings)
    if request.count == 0:
        total = queryset.count() if request.total != "none" else None
        return SearchResult(request, [], [], total, None, compiler.warnings)
    window = request.offset + request.count + 1
    rows = list(queryset.values_list(*_COLUMNS)[:window])
    snapshot = None
    if len(rows) < window:
        total = len(rows)
        page = rows[request.offset : request.offset + request.count]
    else:
        ids = list(queryset.values_list("pk", flat=True)[:SNAPSHOT_LIMIT])
        total = len(ids) if len(ids) < SNAPSHOT_LIMIT else queryset.count()
        snapshot = _save_snapshot(request, ids, total)
        page = rows[request.offset : request.offset + request.count]
    matches = _stored(page)
    included = _includes(request, matches)
    return SearchResult(request, matches, included, total if request.total != "none" else None, snapshot,
                        compiler.warnings)


def _save_snapshot(request: SearchRequest, ids: list[int], total: int) -> str:
    key = str(uuid.uuid4())
    SearchSnapshot.objects.filter(created__lt=clock.now() - SNAPSHOT_LIFETIME).delete()
    SearchSnapshot.objects.create(
        key=key,
        created=clock.now(),
        resource_type=request.resource_type or "",
        query=urlencode(request.filters),
        ids=orjson.dumps(ids).decode(),
        total=total,
    )
    return key


def _page_from_snapshot(request: SearchRequest, compiler: _Compiler) -> SearchResult:
    snapshot = SearchSnapshot.objects.filter(key=request.snapshot).first()
    if snapshot is None or snapshot.created < clock.now() - SNAPSHOT_LIFETIME:
        raise NotFound("these search results have expired; run the search again")
    if snapshot.resource_type != (request.resource_type or ""):
        raise _error("this paging link belongs to a search of another resource type")
    request.filters = parse_qsl(snapshot.query, keep_blank_values=True)
    ids = orjson.loads(snapshot.ids)
    matches = _load(ids[request.offset : request.offset + request.count])
    return SearchResult(request, matches, _includes(request, matches), snapshot.total, snapshot.key,
                        compiler.warnings)


def _parse_include(spec: str, reverse: bool) -> tuple[str, str, str | None, bool]:
    iterate = spec.endswith(":iterate")
    if iterate:
        spec = spec[: -len(":iterate")]
    pieces = spec.split(":")
    if len(pieces) not in (2, 3) or not validation.is_resource_type(pieces[0]):
        raise _error(f"'{spec}' must look like Type:searchParam or Type:searchParam:TargetType")
    source, code = pieces[0], pieces[1]
    target = pieces[2] if len(pieces) == 3 else None
    if code != "*":
        param = indexing.search_param(source, code)
        if param is None or param.type != "reference":
            kind = "_revinclude" if reverse else "_include"
            raise _error(f"{kind} '{spec}': '{code}' is not a reference parameter of {source}")
    return source, code, target, iterate


def _includes(request: SearchRequest, matches: list) -> list:
    if not matches or not (request.include or request.revinclude):
        return []
    seen = {(m.resource_type, m.logical_id) for m in matches}
    included: list = []
    frontier = matches
    specs = [(_parse_include(s, False), False) for s in request.include]
    specs += [(_parse_include(s, True), True) for s in request.revinclude]
    for depth in range(4):  # :iterate follows at most four hops
        found: list = []
        for (source, code, target, iterate), reverse in specs:
            if depth > 0 and not iterate:
                continue
            found += _revinclude_step(frontier, source, code) if reverse else _include_step(
                frontier, source, code, target
            )
        fresh = []
        for stored in found:
            key = (stored.resource_type, stored.logical_id)
            if key not in seen:
                seen.add(key)
                fresh.append(stored)
        if not fresh:
            break
        included += fresh
        frontier = fresh
    return included


def _include_step(frontier: list, source: str, code: str, target: str | None) -> list:
    pks = [m.pk for m in frontier if m.resource_type == source]
    if not pks:
        return []
    refs = SearchReference.objects.filter(resource_id__in=pks, target_id__isnull=False)
    if code != "*":
        refs = refs.filter(param=code)
    if target:
        refs = refs.filter(target_type=target)
    wanted = set(refs.values_list("target_type", "target_id"))
    if not wanted:
        return []
    q = Q()
    for target_type, target_id in wanted:
        q |= Q(resource_type=target_type, logical_id=target_id)
    return _stored(Resource.objects.filter(q, deleted=False).values_list(*_COLUMNS))


def _revinclude_step(frontier: list, source: str, code: str) -> list:
    q = Q()
    for m in frontier:
        q |= Q(target_type=m.resource_type, target_id=m.logical_id)
    refs = SearchReference.objects.filter(q, resource_type=source)
    if code != "*":
        refs = refs.filter(param=code)
    rows = Resource.objects.filter(pk__in=refs.values("resource_id"), deleted=False).values_list(*_COLUMNS)
    return _stored(rows[: settings.FHIR_MAX_PAGE_SIZE])


def match_query(resource_type: str, query: str) -> list:
    """Up to two resources matching a conditional request's query: enough to tell 0, 1 or many."""
    items = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if not items:
        raise _error(f"the condition '{query}' has no search parameters")
    request = parse_request(resource_type, items)
    queryset = build_queryset(request, _Compiler("", strict=True))
    return _stored(queryset.values_list(*_COLUMNS)[:2])
