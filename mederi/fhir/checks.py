"""Consistency checks of the stored record, run by `mederi check`."""

import orjson

from mederi.fhir.models import Resource, ResourceHistory


def check_record() -> list[str]:
    """Each current row must parse, match its own type/id/version, and have its history row."""
    problems = []
    history = set(ResourceHistory.objects.values_list("resource_type", "logical_id", "version_id").iterator())
    rows = Resource.objects.values_list("resource_type", "logical_id", "version_id", "deleted", "content")
    for resource_type, logical_id, version_id, deleted, content in rows.iterator(chunk_size=2000):
        name = f"{resource_type}/{logical_id}"
        if (resource_type, logical_id, version_id) not in history:
            problems.append(f"{name}: version {version_id} is missing from the history")
        if deleted:
            continue
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            problems.append(f"{name}: stored content is not valid JSON")
            continue
        if body.get("resourceType") != resource_type or body.get("id") != logical_id:
            problems.append(f"{name}: stored content is {body.get('resourceType')}/{body.get('id')}")
        elif body.get("meta", {}).get("versionId") != str(version_id):
            problems.append(f"{name}: stored content says version {body.get('meta', {}).get('versionId')}, "
                            f"the table says {version_id}")
    return problems
