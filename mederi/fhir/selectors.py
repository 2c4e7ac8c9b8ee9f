"""Reads of the record that are not searches: histories."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings

from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.fhir import access, sensitive, values
from mederi.fhir.models import Resource, ResourceHistory
from mederi.fhir.rendering import history_bundle_json
from mederi.fhir.repository import Repository, check_resource_type


def _instant(name: str, value: str):
    try:
        return values.parse_date_range(value)[0]
    except ValueError as exc:
        raise InvalidRequest.single(f"{name} '{value}' is not a valid instant: {exc}") from exc


def _whole_number(name: str, value: str, default: int) -> int:
    if value in (None, ""):
        return default
    if not str(value).isdigit():
        raise InvalidRequest.single(f"{name} must be a whole number, not '{value}'")
    return int(value)


def history_page(context: Context, resource_type: str | None, logical_id: str | None, params, base_url: str) -> str:
    """One page of the history of a resource, a type, or the whole server, newest first.

    Paging links carry `_before`, the moment of the first page, so versions written while a
    client pages do not shift the pages it has not read yet.
    """
    versions = ResourceHistory.objects.all()
    path = "_history"
    if resource_type:
        check_resource_type(resource_type)
        access.require(context, resource_type, "history")
        versions = versions.filter(resource_type=resource_type)
        path = f"{resource_type}/_history"
    elif not context.authenticated:
        access.require(context, "Patient", "history")
    if logical_id:
        Repository(context).require_instance(resource_type, logical_id, "history")
        versions = versions.filter(logical_id=logical_id)
        path = f"{resource_type}/{logical_id}/_history"
    else:
        visible = access.visibility(context, resource_type, "r", "history")
        if visible is not None:  # versions of the resources the caller may see now
            versions = versions.extra(where=[
                "EXISTS (SELECT 1 FROM fhir_resource r WHERE r.resource_type = fhir_resource_history.resource_type"
                f" AND r.logical_id = fhir_resource_history.logical_id AND {visible[0]})"], params=visible[1])
    count = min(_whole_number("_count", params.get("_count"), settings.FHIR_DEFAULT_PAGE_SIZE),
                settings.FHIR_MAX_PAGE_SIZE)
    offset = _whole_number("_offset", params.get("_offset"), 0)
    before_text = params.get("_before") or clock.fhir_instant(clock.now())
    versions = versions.filter(last_updated__lte=_instant("_before", before_text))
    query = [("_before", before_text)]
    if params.get("_since"):
        versions = versions.filter(last_updated__gte=_instant("_since", params["_since"]))
        query.insert(0, ("_since", params["_since"]))
    if params.get("_at"):
        raise InvalidRequest.single("_at is not supported; use _since", code="not-supported")
    total = versions.count()
    page = list(versions.order_by("-last_updated", "-pk")[offset : offset + count])
    for version in page:
        version.content = sensitive.open_content(version.resource_type, version.content)
    where = f"{base_url}/{path}"
    links = [("self", f"{where}?{urlencode(query + [('_count', count), ('_offset', offset)])}")]
    if offset + count < total:
        links.append(("next", f"{where}?{urlencode(query + [('_count', count), ('_offset', offset + count)])}"))
    if offset > 0:
        links.append(("previous", f"{where}?{urlencode(query + [('_count', count), ('_offset', max(offset - count, 0))])}"))
    return history_bundle_json(page, base_url, total, links)


def export_types() -> list[str]:
    return list(Resource.objects.filter(deleted=False).values_list("resource_type", flat=True).distinct().order_by(
        "resource_type"
    ))


def export_rows(resource_type: str):
    """The current JSON of every resource of a type, streamed in primary-key order."""
    rows = Resource.objects.filter(resource_type=resource_type, deleted=False).order_by("pk")
    return (sensitive.open_content(resource_type, content)
            for content in rows.values_list("content", flat=True).iterator(chunk_size=2000))


def export_count(resource_type: str) -> int:
    return Resource.objects.filter(resource_type=resource_type, deleted=False).count()
