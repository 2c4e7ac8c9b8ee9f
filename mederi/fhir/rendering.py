"""Turning stored resources into the JSON the API answers with.

Stored content is already the exact JSON of each resource, so bundles are assembled from those
strings without parsing them again — except when `_elements` or `_summary` asks for less.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import orjson

from mederi.core import clock
from mederi.fhir import definitions, jsonio

_SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
_MANDATORY = ("resourceType", "id", "meta")


def _mark_subsetted(resource: dict) -> dict:
    meta = dict(resource.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), _SUBSETTED]
    resource["meta"] = meta
    return resource


def shape(content: str, summary: str | None = None, elements: list[str] | None = None) -> str:
    """Apply `_summary` / `_elements` to one resource's JSON."""
    if not summary and not elements:
        return content
    resource = jsonio.loads(content)
    if elements:
        keep = set(elements) | set(_MANDATORY)
        resource = {k: v for k, v in resource.items() if k in keep}
    elif summary == "true":
        keep = definitions.summary_elements(resource["resourceType"]) | set(_MANDATORY)
        resource = {k: v for k, v in resource.items() if k in keep}
    elif summary == "text":
        resource = {k: v for k, v in resource.items() if k in (*_MANDATORY, "text")}
    elif summary == "data":
        resource = {k: v for k, v in resource.items() if k != "text"}
    return jsonio.dumps(_mark_subsetted(resource))


def _link(relation: str, url: str) -> str:
    return orjson.dumps({"relation": relation, "url": url}).decode()


def searchset_bundle_json(result, base_url: str, resource_type: str | None, path: str | None = None) -> str:
    request = result.request
    path = path or (resource_type or "")
    where = f"{base_url}/{path}" if path else base_url
    filters = list(request.filters)
    links = [_link("self", f"{where}?{urlencode(filters + request.result_params())}")]
    if result.snapshot:
        paging = [("_snapshot", result.snapshot)] + request.result_params()
        if result.has_next:
            links.append(_link("next", f"{where}?{urlencode(paging + [('_offset', request.offset + request.count)])}"))
        if request.offset > 0:
            previous = max(request.offset - request.count, 0)
            links.append(_link("previous", f"{where}?{urlencode(paging + [('_offset', previous)])}"))
    entries = []
    for mode, items in (("match", result.matches), ("include", result.included)):
        for stored in items:
            body = shape(stored.content, request.summary, request.elements)
            entries.append(
                f'{{"fullUrl":"{base_url}/{stored.reference}","resource":{body},"search":{{"mode":"{mode}"}}}}'
            )
    if result.warnings:
        outcome = orjson.dumps(
            {"resourceType": "OperationOutcome", "issue": [w.as_fhir() for w in result.warnings]}
        ).decode()
        entries.append(f'{{"resource":{outcome},"search":{{"mode":"outcome"}}}}')
    head = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": clock.fhir_instant(clock.now())},
        "type": "searchset",
    }
    if result.total is not None:
        head["total"] = result.total
    text = orjson.dumps(head).decode()[:-1]
    return f'{text},"link":[{",".join(links)}],"entry":[{",".join(entries)}]}}'


def searchset_bundle(result, base_url: str, resource_type: str | None) -> dict:
    return jsonio.loads(searchset_bundle_json(result, base_url, resource_type))


def history_bundle_json(versions, base_url: str, total: int | None, links: list[tuple[str, str]]) -> str:
    entries = []
    for v in versions:
        url = f"{base_url}/{v.resource_type}/{v.logical_id}"
        request = {"method": v.method, "url": f"{v.resource_type}/{v.logical_id}" if v.method != "POST" else v.resource_type}
        response = {
            "status": {"POST": "201 Created", "DELETE": "204 No Content"}.get(v.method, "200 OK"),
            "etag": f'W/"{v.version_id}"',
            "lastModified": clock.fhir_instant(v.last_updated),
        }
        parts = [f'"fullUrl":"{url}"']
        if not v.deleted:
            parts.append(f'"resource":{v.content}')
        parts.append(f'"request":{orjson.dumps(request).decode()}')
        parts.append(f'"response":{orjson.dumps(response).decode()}')
        entries.append("{" + ",".join(parts) + "}")
    head = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "history"}
    if total is not None:
        head["total"] = total
    text = orjson.dumps(head).decode()[:-1]
    link_json = ",".join(_link(rel, url) for rel, url in links)
    return f'{text},"link":[{link_json}],"entry":[{",".join(entries)}]}}'
