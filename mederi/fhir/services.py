"""Write services of the record that work on many resources at once: importing files."""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from django.db import connection, connections

from mederi.core.context import Context
from mederi.core.errors import MederiError
from mederi.fhir import jsonio
from mederi.fhir.bundles import BundleProcessor
from mederi.fhir.models import Resource
from mederi.fhir.repository import Repository

# Synthea's shared resources must exist before the patients that point at them.
_LOAD_FIRST = ("hospitalInformation", "practitionerInformation")


@dataclass
class FileReport:
    path: Path
    resources: int = 0
    error: str | None = None


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def resources(self) -> int:
        return sum(f.resources for f in self.files)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.error]


def collect_files(paths: list[Path]) -> list[Path]:
    """Files to import, directories expanded, shared Synthea files first."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".json", ".ndjson") and p.is_file())
        else:
            found.append(path)
    return sorted(found, key=lambda p: (not p.name.startswith(_LOAD_FIRST), str(p)))


def _idempotent_request(entry: dict) -> dict:
    """Turn a create into an update with a stable id, so importing a file twice stores it once.

    A POST whose fullUrl is `urn:uuid:X` becomes `PUT Type/X`; a resource with an id is PUT
    under that id. Conditional creates (ifNoneExist) are already idempotent and stay as they are.
    """
    resource = entry.get("resource")
    request = dict(entry.get("request") or {})
    if not isinstance(resource, dict) or "resourceType" not in resource:
        return entry
    resource_type = resource["resourceType"]
    method = str(request.get("method", "POST")).upper()
    if method != "POST" or request.get("ifNoneExist"):
        return entry
    full_url = str(entry.get("fullUrl") or "")
    logical_id = resource.get("id")
    if full_url.startswith("urn:uuid:"):
        logical_id = full_url[len("urn:uuid:"):]
    if not logical_id:
        return entry
    return {**entry, "resource": {**resource, "id": logical_id},
            "request": {"method": "PUT", "url": f"{resource_type}/{logical_id}"}}


def _keep_stored_on_create(original: list, prepared: list) -> list:
    """A create (POST) of a resource the record already holds reads it instead of replacing it.

    Synthea repeats the hospital's Organizations and Practitioners, in shorter form, in every
    patient file: replacing them would drop data and add a version on every re-import.
    """
    targets: dict[str, dict[str, int]] = {}
    for index, (before, after) in enumerate(zip(original, prepared)):
        if after is not before:  # a POST turned into a PUT by _idempotent_request
            targets.setdefault(after["resource"]["resourceType"], {})[after["resource"]["id"]] = index
    for resource_type, ids in targets.items():
        stored = Resource.objects.filter(resource_type=resource_type, logical_id__in=list(ids), deleted=False)
        for logical_id in stored.values_list("logical_id", flat=True):
            index = ids[logical_id]
            prepared[index] = {"fullUrl": prepared[index].get("fullUrl"),
                               "request": {"method": "GET", "url": f"{resource_type}/{logical_id}"}}
    return prepared


def _as_transaction(document: dict) -> dict:
    kind = document.get("type")
    entries = document.get("entry") or []
    if document.get("resourceType") != "Bundle":
        entries = [{"resource": document}]
        kind = "collection"
    if kind in ("transaction", "batch"):
        prepared = _keep_stored_on_create(entries, [_idempotent_request(e) for e in entries])
    else:  # collection, searchset, document, message: store each resource
        prepared = []
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("resource"), dict):
                continue
            resource = e["resource"]
            request = {"method": "POST", "url": resource.get("resourceType", "")}
            prepared.append(_idempotent_request({**e, "request": request}))
    return {"resourceType": "Bundle", "type": "batch" if kind == "batch" else "transaction", "entry": prepared}


def _read_documents(path: Path) -> list[dict]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if path.suffix == ".ndjson":
        resources = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    resources.append({"resource": jsonio.loads(line)})
                except ValueError as exc:
                    raise ValueError(f"line {number} is not valid JSON: {exc}") from exc
        return [{"resourceType": "Bundle", "type": "collection", "entry": resources}]
    try:
        return [jsonio.loads(raw)]
    except ValueError as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc


def count_entries(path: Path) -> int:
    """A cheap estimate of the resources in a file, for progress bars."""
    if path.suffix == ".ndjson":
        return sum(1 for line in path.read_bytes().splitlines() if line.strip())
    return max(path.read_bytes().count(b'"resourceType"') - 1, 1)


def import_file(path: Path, context: Context) -> FileReport:
    """Import one file as a single transaction: all of it is stored, or none of it."""
    report = FileReport(path)
    try:
        documents = _read_documents(path)
        for document in documents:
            if not isinstance(document, dict):
                raise ValueError("the file holds no FHIR resource or Bundle")
            bundle = _as_transaction(document)
            response = BundleProcessor(Repository(context)).process(bundle)
            if bundle["type"] == "batch":
                failed = [e for e in response["entry"] if not e["response"]["status"].startswith(("2", "3"))]
                if failed:
                    first = failed[0]["response"].get("outcome", {}).get("issue", [{}])[0]
                    report.error = f"{len(failed)} entries failed; first: {first.get('diagnostics', '')}"
            report.resources += len(bundle["entry"])
    except MederiError as error:
        report.error = str(error)
        report.resources = 0
    except (ValueError, OSError) as error:
        report.error = str(error)
        report.resources = 0
    return report


def _can_import_in_parallel() -> bool:
    """Worker processes need a database they can all reach and no open transaction to join."""
    if connection.in_atomic_block:
        return False
    return connection.vendor != "sqlite" or not connection.is_in_memory_db()


def _import_in_worker(path: Path, context: Context) -> FileReport:
    return import_file(path, context)


def refresh_statistics() -> None:
    """Let the query planner see the new data: after a bulk load its row estimates are stale."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def import_paths(paths: list[Path], context: Context, on_file=None, jobs: int = 1) -> ImportReport:
    """Import files, each as one transaction; with `jobs` > 1 several files load at once."""
    report = ImportReport()

    def record(file_report: FileReport) -> None:
        report.files.append(file_report)
        if on_file:
            on_file(file_report.path, file_report)

    files = collect_files(paths)
    first = [p for p in files if p.name.startswith(_LOAD_FIRST)]
    rest = [p for p in files if not p.name.startswith(_LOAD_FIRST)]
    for path in first:  # everything else may point at these
        record(import_file(path, context))
    if jobs > 1 and len(rest) > 1 and _can_import_in_parallel():
        connections.close_all()  # each worker opens its own connection
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for file_report in pool.imap(partial(_import_in_worker, context=context), rest):
                record(file_report)
    else:
        for path in rest:
            record(import_file(path, context))
    if report.resources and not connection.in_atomic_block:
        refresh_statistics()
    return report
