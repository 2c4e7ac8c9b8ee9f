"""`_include` and `_revinclude` (with `:iterate`): the resources a page of search results
refers to, or is referred to by, limited to what the caller may see."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.fhir import access, indexing, validation
from mederi.fhir.models import SearchReference
from mederi.fhir.rows import SELECT_COLUMNS, any_of, fetch, placeholders

REFERENCE_TABLE = SearchReference._meta.db_table
MAX_HOPS = 4  # :iterate follows at most four hops


def parse_include(spec: str, reverse: bool) -> tuple[str, str, str | None, bool]:
    """(source type, parameter or *, target type, iterate) of `Type:param[:Target][:iterate]`."""
    iterate = spec.endswith(":iterate")
    if iterate:
        spec = spec[: -len(":iterate")]
    pieces = spec.split(":")
    if len(pieces) not in (2, 3) or not validation.is_resource_type(pieces[0]):
        raise InvalidRequest.single(f"'{spec}' must look like Type:searchParam or Type:searchParam:TargetType")
    source, code = pieces[0], pieces[1]
    target = pieces[2] if len(pieces) == 3 else None
    if code != "*":
        param = indexing.search_param(source, code)
        if param is None or param.type != "reference":
            kind = "_revinclude" if reverse else "_include"
            raise InvalidRequest.single(f"{kind} '{spec}': '{code}' is not a reference parameter of {source}")
    return source, code, target, iterate


def included(context: Context, request, matches: list) -> list:
    """The resources `request`'s includes add to `matches`, each once, that `context` may see."""
    if not matches or not (request.include or request.revinclude):
        return []
    seen = {(m.resource_type, m.logical_id) for m in matches}
    found_all: list = []
    frontier = matches
    specs = [(parse_include(s, False), False) for s in request.include]
    specs += [(parse_include(s, True), True) for s in request.revinclude]
    for depth in range(MAX_HOPS):
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
        found_all += fresh
        frontier = fresh
    return access.only_visible(context, found_all)


def _include_step(frontier: list, source: str, code: str, target: str | None) -> list:
    pks = [m.pk for m in frontier if m.resource_type == source]
    if not pks:
        return []
    sql = f"SELECT DISTINCT target_type, target_id FROM {REFERENCE_TABLE} WHERE resource_id IN ({placeholders(pks)})"
    sql += " AND target_id IS NOT NULL"
    params: list = list(pks)
    if code != "*":
        sql, params = sql + " AND param = %s", params + [code]
    if target:
        sql, params = sql + " AND target_type = %s", params + [target]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        wanted = cursor.fetchall()
    if not wanted:
        return []
    targets = any_of([("r.resource_type = %s AND r.logical_id = %s", [t, i]) for t, i in wanted])
    return fetch(f"SELECT {SELECT_COLUMNS} FROM fhir_resource r WHERE ({targets[0]}) AND r.deleted = %s ORDER BY r.id",
                 [*targets[1], False])


def _revinclude_step(frontier: list, source: str, code: str) -> list:
    referring = any_of([("target_type = %s AND target_id = %s", [m.resource_type, m.logical_id]) for m in frontier])
    refs_sql, refs_params = f"resource_type = %s AND ({referring[0]})", [source, *referring[1]]
    if code != "*":
        refs_sql, refs_params = refs_sql + " AND param = %s", refs_params + [code]
    return fetch(
        f"SELECT {SELECT_COLUMNS} FROM fhir_resource r WHERE r.id IN (SELECT resource_id FROM {REFERENCE_TABLE}"
        f" WHERE {refs_sql}) AND r.deleted = %s ORDER BY r.id LIMIT %s",
        [*refs_params, False, settings.FHIR_MAX_PAGE_SIZE],
    )
