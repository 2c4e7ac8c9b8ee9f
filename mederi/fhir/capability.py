"""The CapabilityStatement: exactly what this server does, generated from what is wired up."""

from functools import cache

from mederi import __version__
from mederi.fhir import indexing, validation

SEARCH_RESULT_PARAMS = ["_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total"]
_DOCS = "http://hl7.org/fhir/R4/search.html"


@cache
def _resources() -> list[dict]:
    resources = []
    for resource_type in sorted(validation.RESOURCE_TYPES):
        params = [
            {"name": code, "type": param.type, "documentation": param.expression or code}
            for code, param in sorted(indexing.search_params_for(resource_type).items())
        ]
        entry = {
            "type": resource_type,
            "interaction": [{"code": c} for c in (
                "read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
                "search-type",
            )],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "searchInclude": sorted({f"{resource_type}:{p['name']}" for p in params if p["type"] == "reference"}),
            "searchRevInclude": ["*"],
            "searchParam": params,
            "operation": [{"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"}],
        }
        if resource_type == "AuditEvent":
            entry = _audit_event_entry()
        if resource_type == "Patient":
            entry["operation"].append(
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            )
        resources.append(entry)
    return resources


def _audit_event_entry() -> dict:
    """AuditEvents are the audit log seen through FHIR: read and search only (mederi.audit.fhir_views)."""
    from mederi.audit.fhir_views import SEARCH_PARAM_DOCS, SEARCH_PARAMS

    return {
        "type": "AuditEvent",
        "documentation": "The audit log, read-only; needs the audit.view permission",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": name, "type": kind, "documentation": SEARCH_PARAM_DOCS[name]}
                        for name, kind in SEARCH_PARAMS.items()],
    }


def capability_statement(base_url: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-30",
        "publisher": "Mederi",
        "kind": "instance",
        "software": {"name": "Mederi", "version": __version__},
        "implementation": {"description": "Mederi FHIR R4 server", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": f"Search result parameters: {', '.join(SEARCH_RESULT_PARAMS)}; see {_DOCS}",
                "resource": _resources(),
                "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "search-system"},
                                {"code": "history-system"}],
                "searchParam": [
                    {"name": "_id", "type": "token"},
                    {"name": "_lastUpdated", "type": "date"},
                ],
            }
        ],
    }
