"""The FHIR R4 REST API at /fhir/R4/. Views parse HTTP and call the repository; nothing else."""

from __future__ import annotations

import orjson
from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError, operation_outcome
from mederi.fhir import capability, jsonio, operations, selectors
from mederi.fhir.bundles import BundleProcessor
from mederi.fhir.rendering import searchset_bundle_json
from mederi.fhir.repository import (
    Repository,
    StoredResource,
    WriteOutcome,
    check_resource_type,
    parse_if_match,
)

FHIR_JSON = "application/fhir+json; charset=utf-8"
_XML_TYPES = ("application/fhir+xml", "application/xml", "text/xml", "xml")


def fhir_response(body, status: int = 200, headers: dict | None = None) -> HttpResponse:
    if isinstance(body, (dict, list)):
        body = jsonio.dumps(body)
    response = HttpResponse(body, status=status, content_type=FHIR_JSON)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error_response(error: MederiError) -> HttpResponse:
    return fhir_response(operation_outcome(error.issues), error.status)


def base_url(request) -> str:
    return settings.FHIR_BASE_URL.rstrip("/") or request.build_absolute_uri("/fhir/R4").rstrip("/")


def request_context(request) -> Context:
    return Context(remote_addr=request.META.get("REMOTE_ADDR"))


def _wants_xml(request) -> bool:
    requested = request.GET.get("_format", "")
    if any(t in requested for t in _XML_TYPES):
        return True
    accept = request.META.get("HTTP_ACCEPT", "")
    if accept and any(t in accept for t in _XML_TYPES) and "json" not in accept and "*/*" not in accept:
        return True
    content_type = request.META.get("CONTENT_TYPE", "")
    return "xml" in content_type


# Django's 2.5 MB form-upload limit is far below a real transaction Bundle (a Synthea patient
# is often 3 MB, the official R4 example Bundles reach 35 MB): FHIR bodies have their own limit.
MAX_BODY_BYTES = getattr(settings, "FHIR_MAX_BODY_BYTES", 64 * 1024 * 1024)


def _raw_body(request) -> bytes:
    if hasattr(request, "_body"):
        return request._body
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY_BYTES:
        raise MederiError.single(f"the body has {length} bytes; this server takes at most {MAX_BODY_BYTES}",
                                 code="too-costly", status=413)
    return request.read()


def _json_body(request):
    body = _raw_body(request)
    if not body:
        raise InvalidRequest.single("the request has no body; send a FHIR JSON resource")
    try:
        return jsonio.loads(body)
    except ValueError as exc:
        raise InvalidRequest.single(f"the body is not valid JSON: {exc}", code="structure") from exc


def _prefer(request, key: str) -> str | None:
    for part in request.META.get("HTTP_PREFER", "").split(";"):
        for item in part.split(","):
            name, _, value = item.strip().partition("=")
            if name.strip() == key:
                return value.strip().strip('"')
    return None


def _resource_headers(stored: StoredResource, request=None, location: bool = False) -> dict:
    headers = {
        "ETag": stored.etag,
        "Last-Modified": stored.last_updated.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    if location and request is not None:
        headers["Location"] = f"{base_url(request)}/{stored.reference}/_history/{stored.version_id}"
    return headers


def _write_response(request, outcome: WriteOutcome) -> HttpResponse:
    stored = outcome.stored
    headers = _resource_headers(stored, request, location=outcome.status == 201 or request.method == "POST")
    wanted = _prefer(request, "return") or "representation"
    if wanted == "minimal":
        return HttpResponse(status=outcome.status, headers=headers)
    if wanted == "OperationOutcome":
        body = operation_outcome([Issue(f"{stored.reference} version {stored.version_id} stored",
                                        code="informational", severity="information")])
        return fhir_response(body, outcome.status, headers)
    return fhir_response(stored.content, outcome.status, headers)


def _search_items(request) -> list[tuple[str, str]]:
    items = [(k, v) for k in request.GET for v in request.GET.getlist(k)]
    if request.method == "POST":
        items += [(k, v) for k in request.POST for v in request.POST.getlist(k)]
    return items


def _strict(request) -> bool:
    return _prefer(request, "handling") != "lenient"


def fhir_endpoint(handler):
    """Common handling: JSON only, OperationOutcome for every error, no CSRF (token auth)."""

    @csrf_exempt
    def view(request, *args, **kwargs):
        if _wants_xml(request):
            return error_response(MederiError.single(
                "this server speaks FHIR JSON only; ask for application/fhir+json", code="not-supported", status=406
            ))
        try:
            return handler(request, *args, **kwargs)
        except MederiError as error:
            return error_response(error)

    view.__name__ = handler.__name__
    return view


def _not_allowed(request, allowed: str) -> HttpResponse:
    error = MederiError.single(f"{request.method} is not allowed here; use {allowed}", code="not-supported", status=405)
    response = error_response(error)
    response["Allow"] = allowed
    return response


@fhir_endpoint
def system(request):
    repo = Repository(request_context(request))
    if request.method == "POST":
        processor = BundleProcessor(repo, base_url(request), _prefer(request, "return") == "representation")
        return fhir_response(processor.process(_json_body(request)))
    if request.method == "GET":
        result = repo.search(None, _search_items(request), base_url=base_url(request), strict=_strict(request))
        return fhir_response(searchset_bundle_json(result, base_url(request), None))
    return _not_allowed(request, "GET, POST")


@fhir_endpoint
def metadata(request):
    return fhir_response(capability.capability_statement(base_url(request)))


@fhir_endpoint
def type_level(request, resource_type):
    check_resource_type(resource_type)  # an unknown type is an unknown endpoint: 404, for every method
    repo = Repository(request_context(request))
    if request.method == "GET":
        return _search(request, repo, resource_type)
    if request.method == "POST":
        body = _json_body(request)
        _check_create_type(resource_type, body)
        return _write_response(request, repo.create(body, if_none_exist=request.META.get("HTTP_IF_NONE_EXIST")))
    if request.method == "PUT":
        query = request.META.get("QUERY_STRING", "")
        if not query:
            raise InvalidRequest.single(f"PUT {resource_type} needs an id (PUT {resource_type}/id) or a search condition")
        return _write_response(request, repo.conditional_update(resource_type, query, _json_body(request)))
    if request.method == "DELETE":
        query = request.META.get("QUERY_STRING", "")
        if not query:
            raise InvalidRequest.single(f"DELETE {resource_type} needs an id or a search condition")
        matches = repo.find_ids(resource_type, query)
        if len(matches) > 1:
            raise MederiError.single(f"'{query}' matches more than one {resource_type}", code="multiple-matches",
                                     status=412)
        for match in matches:
            repo.delete(resource_type, match.logical_id)
        return HttpResponse(status=204)
    return _not_allowed(request, "GET, POST, PUT, DELETE")


def _check_create_type(resource_type, body):
    if isinstance(body, dict) and body.get("resourceType") not in (None, resource_type):
        raise InvalidRequest.single(f"the body is a {body.get('resourceType')}, not a {resource_type}",
                                    expression="resourceType")


@fhir_endpoint
def type_search(request, resource_type):
    if request.method != "POST":
        return _not_allowed(request, "POST")
    return _search(request, Repository(request_context(request)), resource_type)


def _search(request, repo, resource_type):
    result = repo.search(resource_type, _search_items(request), base_url=base_url(request), strict=_strict(request))
    return fhir_response(searchset_bundle_json(result, base_url(request), resource_type))


@fhir_endpoint
def instance(request, resource_type, logical_id):
    repo = Repository(request_context(request))
    if request.method in ("GET", "HEAD"):
        stored = repo.read(resource_type, logical_id)
        etag = request.META.get("HTTP_IF_NONE_MATCH")
        if etag and etag.strip() == stored.etag:
            return HttpResponse(status=304, headers=_resource_headers(stored))
        from mederi.fhir.rendering import shape

        summary = request.GET.get("_summary")
        elements = [e for e in request.GET.get("_elements", "").split(",") if e]
        return fhir_response(shape(stored.content, summary if summary != "false" else None, elements), 200,
                             _resource_headers(stored))
    if request.method == "PUT":
        body = _json_body(request)
        outcome = repo.update(resource_type, logical_id, body, if_match=parse_if_match(request.META.get("HTTP_IF_MATCH")))
        return _write_response(request, outcome)
    if request.method == "PATCH":
        content_type = request.META.get("CONTENT_TYPE", "")
        if "json-patch" not in content_type:
            raise MederiError.single("PATCH takes a JSON Patch body (Content-Type: application/json-patch+json)",
                                     code="not-supported", status=415)
        outcome = repo.patch(resource_type, logical_id, _json_body(request),
                             if_match=parse_if_match(request.META.get("HTTP_IF_MATCH")))
        return _write_response(request, outcome)
    if request.method == "DELETE":
        repo.delete(resource_type, logical_id)
        return HttpResponse(status=204)
    return _not_allowed(request, "GET, PUT, PATCH, DELETE")


@fhir_endpoint
def vread(request, resource_type, logical_id, version_id):
    stored = Repository(request_context(request)).vread(resource_type, logical_id, version_id)
    return fhir_response(stored.content, 200, _resource_headers(stored))


@fhir_endpoint
def history(request, resource_type=None, logical_id=None):
    if request.method != "GET":
        return _not_allowed(request, "GET")
    page = selectors.history_page(resource_type, logical_id, request.GET, base_url(request))
    return fhir_response(page)


@fhir_endpoint
def everything(request, logical_id):
    if request.method != "GET":
        return _not_allowed(request, "GET")
    repo = Repository(request_context(request))
    return fhir_response(operations.patient_everything(repo, logical_id, request.GET, base_url(request)))


@fhir_endpoint
def validate(request, resource_type, logical_id=None):
    if request.method != "POST":
        return _not_allowed(request, "POST")
    return fhir_response(operations.validate(resource_type, _json_body(request), logical_id))


@fhir_endpoint
def unknown_path(request, rest):
    raise MederiError.single(
        f"'{rest}' is not a FHIR endpoint of this server (ids are 1-64 letters, digits, '-' or '.'); "
        "see /fhir/R4/metadata", code="not-found", status=404
    )


def healthz(request):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse(orjson.dumps({"status": "ok", "time": clock.fhir_instant(clock.now())}),
                        content_type="application/json")
