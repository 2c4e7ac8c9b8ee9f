"""CDS Hooks 2.0 HTTP endpoints at /cds-services: discovery, service calls, feedback."""

from __future__ import annotations

import orjson
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from mederi.clinical.cds import registry, services
from mederi.core.errors import InvalidRequest, MederiError
from mederi.fhir.views import request_context, require_token


def _error(error: MederiError) -> JsonResponse:
    message = "; ".join(issue.diagnostics for issue in error.issues)
    response = JsonResponse({"error": message}, status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="mederi"'
    return response


def _json(request):
    try:
        return orjson.loads(request.body or b"")
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest.single(f"the body is not valid JSON: {exc}") from exc


def _answer(request, work):
    try:
        require_token(request)
        return JsonResponse(work(request_context(request)))
    except MederiError as error:
        return _error(error)


@require_GET
def discovery(request):
    """The services offered (public, as the specification expects: it names no patient data)."""
    return JsonResponse({"services": [s.discovery() for s in registry.SERVICES.values()]})


@csrf_exempt
@require_POST
def service(request, service_id: str):
    return _answer(request, lambda context: services.call_service(service_id, _json(request), context))


@csrf_exempt
@require_POST
def feedback(request, service_id: str):
    return _answer(request, lambda context: {"recorded": services.record_feedback(service_id, _json(request), context)})
