"""The FHIR R4 REST API at /fhir/R4/. Views parse HTTP and call the repository; nothing else."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError, Unauthenticated, operation_outcome
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
    response = fhir_response(operation_outcome(error.issues), error.status)
    if error.status == 401:
        detail = ', error="invalid_token"' if any("expired or revoked" in i.diagnostics for i in error.issues) else ""
        response["WWW-Authenticate"] = f'Bearer realm="mederi"{detail}'
    return response


def base_url(request) -> str:
    return settings.FHIR_BASE_URL.rstrip("/") or request.build_absolute_uri("/fhir/R4").rstrip("/")


def request_context(request) -> Context:
    """The caller, as the accounts app found them from the bearer token; anonymous otherwise."""
    context = getattr(request, "mederi_context", None)
    if context is not None:
        return context
    return Context(remote_addr=request.META.get("REMOTE_ADDR"), user_name="anonymous")


def require_token(request) -> None:
    """401 unless the request came with a valid bearer token."""
    error = getattr(request, "mederi_token_error", None)
    if error:
        raise Unauthenticated(error)
    if getattr(request, "mederi_context", None) is None:
        raise Unauthenticated()


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


def fhir_endpoint(handler=None, *, public: bool = False):
    """Common handling: JSON only, a bearer token (unless `public`), OperationOutcome for every
    error, no CSRF (token auth)."""
    if handler is None:
        return lambda h: fhir_endpoint(h, public=public)

    @csrf_exempt
    def view(request, *args, **kwargs):
        if _wants_xml(request):
            return error_response(MederiError.single(
                "this server speaks FHIR JSON only; ask for application/fhir+json", code="not-supported", status=406
            ))
        try:
            if not public:
                require_token(request)
            return handler(request, *args, **kwargs)
        except MederiError as error:
            _audit_failure(request, handler.__name__, kwargs, error.status, [i.code for i in error.issues])
            return error_response(error)
        except Exception as error:
            _audit_failure(request, handler.__name__, kwargs, 500, [type(error).__name__])
            raise

    view.__name__ = handler.__name__
    return view


# -- the audit trail of the API ----------------------------------------------------------------
# Every interaction with patient data leaves an entry: reads and searches here, with the ids
# they returned; writes in the repository, in the write's own transaction; failures here, with
# the status and no data.

_log = logging.getLogger(__name__)

_AUDIT_ACTIONS = {
    ("system", "GET"): "search", ("system", "POST"): "transaction",
    ("type_level", "GET"): "search", ("type_level", "POST"): "create", ("type_level", "PUT"): "update",
    ("type_level", "DELETE"): "delete", ("type_search", "POST"): "search",
    ("instance", "GET"): "read", ("instance", "HEAD"): "read", ("instance", "PUT"): "update",
    ("instance", "PATCH"): "patch", ("instance", "DELETE"): "delete",
    ("vread", "GET"): "vread", ("vread", "HEAD"): "vread", ("history", "GET"): "history",
    ("everything", "GET"): "everything",
}


def _audit_query(request, search: bool = False) -> str:
    if search and request.method == "POST":
        return f"{request.path}?{urlencode(_search_items(request))}"
    return request.get_full_path()


def _audit(request, action: str, outcome: str = "success", *, ids=(), patient_id=None, resource_type=None,
           query=None, detail=None) -> None:
    audit.record(request_context(request), action, outcome, patient_id=patient_id, resource_type=resource_type,
                 resource_ids=ids, query=query if query is not None else request.get_full_path(), detail=detail)


def _audit_failure(request, handler_name: str, kwargs: dict, status: int, codes: list[str]) -> None:
    action = _AUDIT_ACTIONS.get((handler_name, request.method))
    if action is None:
        return
    outcome = "not-found" if status in (404, 410) else "denied" if status in (401, 403) else "error"
    resource_type = kwargs.get("resource_type") or ("Patient" if handler_name == "everything" else None)
    logical_id = kwargs.get("logical_id")
    try:
        _audit(request, action, outcome, resource_type=resource_type,
               ids=[f"{resource_type}/{logical_id}"] if resource_type and logical_id else (),
               patient_id=logical_id if resource_type == "Patient" else None,
               query=_audit_query(request, search=action == "search"), detail={"status": status, "issue": codes})
    except Exception:  # the failure being reported matters more than its log entry
        _log.exception("could not record the audit entry of a failed %s", action)


def _loads(text):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. integers beyond 64 bits
        return jsonio.loads(text)


def _patient_in(content: str) -> str | None:
    return audit.patient_in_content(content)


def _audit_stored(request, action: str, stored: StoredResource) -> None:
    patient_id = stored.logical_id if stored.resource_type == "Patient" else _patient_in(stored.content)
    _audit(request, action, ids=[stored.reference], patient_id=patient_id, resource_type=stored.resource_type)


def _one_patient(patients: set) -> str | None:
    patients.discard(None)
    return patients.pop() if len(patients) == 1 else None


def _audit_search(request, resource_type, result, items) -> None:
    found = list(result.matches) + list(result.included)
    patient_id = _searched_patient(resource_type, items)
    patients = {s.logical_id if s.resource_type == "Patient" else _patient_in(s.content) for s in found}
    if patient_id is None and found:
        patient_id = _one_patient(set(patients))
    detail = {"total": result.total} if result.total else {}
    # Restricted charts reached through a break-the-glass grant are named, so the entry is flagged.
    emergency = sorted(patients & request_context(request).emergency_patients)
    if emergency and patient_id is None:
        detail["emergency_patients"] = emergency
    _audit(request, "search", ids=[s.reference for s in found], patient_id=patient_id, resource_type=resource_type,
           query=_audit_query(request, search=True), detail=detail or None)


def _searched_patient(resource_type, items) -> str | None:
    """The one patient a search is restricted to (patient=, subject=Patient/..., Patient?_id=)."""
    for name, value in items:
        base = name.split(":", 1)[0]
        if "," in value:
            continue
        if base in ("patient", "subject", "beneficiary") and value:
            found = audit.patient_from_reference(value) or (value if "/" not in value and base != "subject" else None)
            if found:
                return found
        if base == "_id" and resource_type == "Patient" and value:
            return value
    return None


def _audit_bundle_text(request, action: str, text: str, patient_id=None, resource_type=None) -> None:
    """Log a history page or $everything result: the ids of the resources it returned."""
    ids, patients = [], set()
    for entry in _loads(text).get("entry") or []:
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("id"):
            ids.append(f"{resource['resourceType']}/{resource['id']}")
            patients.add(audit.patient_of(resource))
        elif (entry.get("request") or {}).get("url"):
            ids.append(entry["request"]["url"].split("/_history/")[0])
    ids = list(dict.fromkeys(ids))
    _audit(request, action, ids=ids, patient_id=patient_id or _one_patient(patients), resource_type=resource_type)


def _audit_unwritten(request, mark: int, action: str, stored: StoredResource | None, resource_type=None,
                     logical_id=None) -> None:
    """A write request that stored nothing (same content again, a matched If-None-Exist, a
    delete of what is already gone) is logged here; stored writes were logged by the repository."""
    if audit.appended() != mark:
        return
    if stored is not None:
        patient_id = stored.logical_id if stored.resource_type == "Patient" else _patient_in(stored.content)
        _audit(request, action, ids=[stored.reference], patient_id=patient_id, resource_type=stored.resource_type,
               detail={"written": False})
    else:
        _audit(request, action, ids=[f"{resource_type}/{logical_id}"] if logical_id else (),
               resource_type=resource_type, patient_id=logical_id if resource_type == "Patient" else None,
               detail={"written": False})


def _audit_bundle(request, bundle: dict, response: dict) -> None:
    """Reads and searches inside a batch or transaction, and the entries of a batch that failed."""
    events = []
    batch = bundle.get("type") == "batch"
    for raw, answer in zip(bundle.get("entry") or [], response.get("entry") or []):
        req = raw.get("request") if isinstance(raw, dict) else None
        method = str((req or {}).get("method", "")).upper()
        url = str((req or {}).get("url", "")).lstrip("/")
        status = str((answer.get("response") or {}).get("status", ""))
        resource = answer.get("resource")
        if not status.startswith(("2", "3")):
            if batch:
                action = {"GET": "search" if "?" in url or "/" not in url else "read", "HEAD": "read",
                          "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)
                if action:
                    code = int(status[:3]) if status[:3].isdigit() else 400
                    outcome = "not-found" if code in (404, 410) else "denied" if code in (401, 403) else "error"
                    events.append(audit.Event(action, outcome, query=url, detail={"status": code}))
            continue
        if method not in ("GET", "HEAD") or not isinstance(resource, dict):
            continue
        if resource.get("resourceType") == "Bundle" and resource.get("type") == "searchset":
            found = [e["resource"] for e in resource.get("entry") or [] if isinstance(e.get("resource"), dict)]
            events.append(audit.Event(
                "search", patient_id=_one_patient({audit.patient_of(r) for r in found}),
                resource_type=url.split("?")[0] or None, query=url,
                resource_ids=[f"{r.get('resourceType')}/{r.get('id')}" for r in found]))
        else:
            events.append(audit.Event("read", patient_id=audit.patient_of(resource),
                                      resource_type=resource.get("resourceType"), query=url,
                                      resource_ids=[f"{resource.get('resourceType')}/{resource.get('id')}"]))
    audit.record_many(request_context(request), events)


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
        body = _json_body(request)
        response = processor.process(body)
        _audit_bundle(request, body, response)
        return fhir_response(response)
    if request.method == "GET":
        items = _search_items(request)
        result = repo.search(None, items, base_url=base_url(request), strict=_strict(request))
        _audit_search(request, None, result, items)
        return fhir_response(searchset_bundle_json(result, base_url(request), None))
    return _not_allowed(request, "GET, POST")


@fhir_endpoint(public=True)
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
        mark = audit.appended()
        outcome = repo.create(body, if_none_exist=request.META.get("HTTP_IF_NONE_EXIST"))
        _audit_unwritten(request, mark, "create", outcome.stored)
        return _write_response(request, outcome)
    if request.method == "PUT":
        query = request.META.get("QUERY_STRING", "")
        if not query:
            raise InvalidRequest.single(f"PUT {resource_type} needs an id (PUT {resource_type}/id) or a search condition")
        mark = audit.appended()
        outcome = repo.conditional_update(resource_type, query, _json_body(request))
        _audit_unwritten(request, mark, "update", outcome.stored)
        return _write_response(request, outcome)
    if request.method == "DELETE":
        query = request.META.get("QUERY_STRING", "")
        if not query:
            raise InvalidRequest.single(f"DELETE {resource_type} needs an id or a search condition")
        matches = repo.find_ids(resource_type, query)
        if len(matches) > 1:
            raise MederiError.single(f"'{query}' matches more than one {resource_type}", code="multiple-matches",
                                     status=412)
        mark = audit.appended()
        for match in matches:
            repo.delete(resource_type, match.logical_id)
        _audit_unwritten(request, mark, "delete", None, resource_type, matches[0].logical_id if matches else None)
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
    items = _search_items(request)
    result = repo.search(resource_type, items, base_url=base_url(request), strict=_strict(request))
    _audit_search(request, resource_type, result, items)
    return fhir_response(searchset_bundle_json(result, base_url(request), resource_type))


@fhir_endpoint
def instance(request, resource_type, logical_id):
    repo = Repository(request_context(request))
    if request.method in ("GET", "HEAD"):
        stored = repo.read(resource_type, logical_id)
        _audit_stored(request, "read", stored)
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
        mark = audit.appended()
        outcome = repo.update(resource_type, logical_id, body, if_match=parse_if_match(request.META.get("HTTP_IF_MATCH")))
        _audit_unwritten(request, mark, "update", outcome.stored)
        return _write_response(request, outcome)
    if request.method == "PATCH":
        content_type = request.META.get("CONTENT_TYPE", "")
        if "json-patch" not in content_type:
            raise MederiError.single("PATCH takes a JSON Patch body (Content-Type: application/json-patch+json)",
                                     code="not-supported", status=415)
        mark = audit.appended()
        outcome = repo.patch(resource_type, logical_id, _json_body(request),
                             if_match=parse_if_match(request.META.get("HTTP_IF_MATCH")))
        _audit_unwritten(request, mark, "patch", outcome.stored)
        return _write_response(request, outcome)
    if request.method == "DELETE":
        mark = audit.appended()
        repo.delete(resource_type, logical_id)
        _audit_unwritten(request, mark, "delete", None, resource_type, logical_id)
        return HttpResponse(status=204)
    return _not_allowed(request, "GET, PUT, PATCH, DELETE")


@fhir_endpoint
def vread(request, resource_type, logical_id, version_id):
    stored = Repository(request_context(request)).vread(resource_type, logical_id, version_id)
    _audit_stored(request, "vread", stored)
    return fhir_response(stored.content, 200, _resource_headers(stored))


@fhir_endpoint
def history(request, resource_type=None, logical_id=None):
    if request.method != "GET":
        return _not_allowed(request, "GET")
    page = selectors.history_page(request_context(request), resource_type, logical_id, request.GET, base_url(request))
    _audit_bundle_text(request, "history", page, patient_id=logical_id if resource_type == "Patient" else None,
                       resource_type=resource_type)
    return fhir_response(page)


@fhir_endpoint
def everything(request, logical_id):
    if request.method != "GET":
        return _not_allowed(request, "GET")
    repo = Repository(request_context(request))
    page = operations.patient_everything(repo, logical_id, request.GET, base_url(request))
    _audit_bundle_text(request, "everything", page, patient_id=logical_id, resource_type="Patient")
    return fhir_response(page)


@fhir_endpoint
def validate(request, resource_type, logical_id=None):
    if request.method != "POST":
        return _not_allowed(request, "POST")
    return fhir_response(operations.validate(resource_type, _json_body(request), logical_id))


@fhir_endpoint(public=True)
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
