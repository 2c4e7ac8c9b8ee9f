"""FHIR operations: Patient/$everything and $validate."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from mederi.core.errors import InvalidRequest, Issue, operation_outcome
from mederi.fhir import access, indexing, validation
from mederi.fhir.models import Resource, SearchReference
from mederi.fhir.rendering import searchset_bundle_json
from mederi.fhir.rows import load
from mederi.fhir.search import SearchRequest, SearchResult, _save_snapshot
from mederi.fhir.selectors import _instant, _whole_number


def _compartment_filter() -> Q:
    q = Q()
    for resource_type in validation.RESOURCE_TYPES:
        params = indexing.patient_compartment_params(resource_type)
        if params:
            q |= Q(resource_type=resource_type, param__in=params)
    return q


def patient_everything(repository, patient_id: str, params, base_url: str) -> str:
    """The patient, every resource in their compartment, and the resources those refer to."""
    patient = repository.read("Patient", patient_id, interaction="everything")
    context = repository.context
    if params.get("_snapshot"):
        request = SearchRequest("Patient", [], _page_size(params), _whole_number("_offset", params.get("_offset"), 0))
        request.snapshot = params["_snapshot"]
        from mederi.fhir.search import _Compiler, _page_from_snapshot

        result = _page_from_snapshot(request, _Compiler(base_url, True, context))
        return searchset_bundle_json(result, base_url, "Patient", f"Patient/{patient_id}/$everything")
    types = [t for t in params.get("_type", "").split(",") if t]
    for name in types:
        if not validation.is_resource_type(name):
            raise InvalidRequest.single(f"_type '{name}' is not a resource type")
    members = SearchReference.objects.filter(_compartment_filter(), target_type="Patient", target_id=patient_id)
    rows = Resource.objects.filter(pk__in=members.values("resource_id"), deleted=False)
    since = params.get("_since")
    if since:
        rows = rows.filter(last_updated__gte=_instant("_since", since))
    member_pks = list(rows.order_by("resource_type", "pk").values_list("pk", flat=True))
    referenced = SearchReference.objects.filter(resource_id__in=member_pks, target_id__isnull=False).exclude(
        target_type="Patient"
    )
    wanted = set(referenced.values_list("target_type", "target_id"))
    referenced_pks = _pks_of(wanted) - set(member_pks)
    ordered = [patient.pk] if (not since or patient.last_updated >= _instant("_since", since)) else []
    ordered += member_pks + sorted(referenced_pks)
    if types:
        type_of = dict(Resource.objects.filter(pk__in=ordered).values_list("pk", "resource_type"))
        ordered = [pk for pk in ordered if type_of.get(pk) in types]
    if not context.is_system:  # a front desk's $everything holds no clinical notes; no restricted records
        visible = access.visible_pks(context, ordered, "everything")
        ordered = [pk for pk in ordered if pk in visible]
    count = _page_size(params)
    request = SearchRequest("Patient", [], count or len(ordered) or 1)
    snapshot = None
    if count and len(ordered) > count:
        snapshot = _save_snapshot(request, ordered, len(ordered), context)
        ordered_page = ordered[:count]
    else:
        ordered_page = ordered
    result = SearchResult(request, load(ordered_page), [], len(ordered), snapshot, [])
    return searchset_bundle_json(result, base_url, "Patient", f"Patient/{patient_id}/$everything")


def _page_size(params) -> int | None:
    if not params.get("_count"):
        return None
    return min(_whole_number("_count", params.get("_count"), 0), settings.FHIR_MAX_PAGE_SIZE) or None


def _pks_of(wanted: set[tuple[str, str]]) -> set[int]:
    pks: set[int] = set()
    items = list(wanted)
    for start in range(0, len(items), 200):
        q = Q()
        for resource_type, logical_id in items[start : start + 200]:
            q |= Q(resource_type=resource_type, logical_id=logical_id)
        pks.update(Resource.objects.filter(q, deleted=False).values_list("pk", flat=True))
    return pks


def validate(resource_type: str, body, logical_id: str | None = None) -> dict:
    """$validate: the issues of a resource (bare, or in a Parameters `resource` part), none written."""
    resource = body
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        parts = [p for p in body.get("parameter", []) if p.get("name") == "resource"]
        if not parts or not isinstance(parts[0].get("resource"), dict):
            raise InvalidRequest.single("$validate takes a resource, or Parameters with a 'resource' part")
        resource = parts[0]["resource"]
    if not isinstance(resource, dict):
        raise InvalidRequest.single("$validate takes a JSON resource")
    issues = validation.validate_resource(resource)
    if resource.get("resourceType") != resource_type:
        issues.append(Issue(f"the resource is a {resource.get('resourceType')}, not a {resource_type}",
                            expression="resourceType"))
    if logical_id and resource.get("id") not in (None, logical_id):
        issues.append(Issue(f"the resource id '{resource.get('id')}' differs from '{logical_id}'", expression="id"))
    if not issues:
        issues = [Issue("the resource is valid FHIR R4", code="informational", severity="information")]
    return operation_outcome(issues)

