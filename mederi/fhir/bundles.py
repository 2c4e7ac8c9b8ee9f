"""Batch and transaction Bundles.

A transaction is all-or-nothing: every entry is checked and written inside one database
transaction, `urn:uuid:` and other full-URL references between entries are rewritten to the
ids the server assigns, and conditional references (`Patient?identifier=...`) are resolved to
the one resource they match. A batch runs each entry on its own and reports each outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from http import HTTPStatus

from django.db import transaction

from mederi.core import clock
from mederi.core.errors import InvalidRequest, Issue, MederiError, PreconditionFailed, operation_outcome
from mederi.fhir import jsonio, validation
from mederi.fhir.repository import Repository, StoredResource, WriteOutcome, parse_if_match

# Processing order inside a transaction (FHIR R4 3.1.0.11.2).
_ORDER = {"DELETE": 0, "POST": 1, "NOOP": 1, "PUT": 2, "PATCH": 3, "GET": 4, "HEAD": 4}


@dataclass
class _Entry:
    index: int
    method: str
    url: str
    resource: dict | None
    full_url: str | None
    if_none_exist: str | None
    if_match: str | None
    resource_type: str = ""
    logical_id: str | None = None  # for instance-level requests
    query: str | None = None  # for conditional requests
    existing: StoredResource | None = None  # the match of a satisfied ifNoneExist


def status_line(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"


def _entry_error(entry_index: int, error: MederiError) -> MederiError:
    issues = [
        Issue(
            f"Bundle.entry[{entry_index}]: {issue.diagnostics}",
            code=issue.code,
            severity=issue.severity,
            expression=(
                f"Bundle.entry[{entry_index}].resource" + ("." + issue.expression.split(".", 1)[1]
                                                           if issue.expression and "." in issue.expression else "")
            ),
        )
        for issue in error.issues
    ]
    return MederiError(issues, error.status)


def _parse_entries(bundle: dict, batch: bool = False) -> list:
    """The entries in order; in a batch an entry that cannot be understood becomes its own error."""
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise InvalidRequest.single("Bundle.entry must be an array", expression="Bundle.entry")
    parsed = []
    for index, raw in enumerate(entries):
        try:
            parsed.append(_parse_entry(index, raw))
        except InvalidRequest as error:
            if not batch:
                raise
            parsed.append(error)
    return parsed


def _parse_entry(index: int, raw) -> _Entry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict):
        raise InvalidRequest.single(f"{where} must be an object", expression=where)
    request = raw.get("request")
    if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
        raise InvalidRequest.single(f"{where}.request needs a method and a url", expression=f"{where}.request")
    method = str(request["method"]).upper()
    if method not in _ORDER:
        raise InvalidRequest.single(f"{where}.request.method '{method}' is not supported",
                                    expression=f"{where}.request.method")
    entry = _Entry(index, method, str(request["url"]).lstrip("/"), raw.get("resource"), raw.get("fullUrl"),
                   request.get("ifNoneExist"), request.get("ifMatch"))
    path, _, query = entry.url.partition("?")
    pieces = path.split("/")
    entry.resource_type = pieces[0]
    if not validation.is_resource_type(entry.resource_type):
        raise InvalidRequest.single(f"{where}.request.url '{entry.url}' does not name a resource type",
                                    expression=f"{where}.request.url")
    if len(pieces) > 1:
        entry.logical_id = pieces[1]
    entry.query = query or None
    if method in ("POST", "PUT") and not isinstance(entry.resource, dict):
        raise InvalidRequest.single(f"{where} needs a resource for {method}", expression=f"{where}.resource")
    return entry


class BundleProcessor:
    def __init__(self, repository: Repository, base_url: str = "", return_resources: bool = False):
        self.repository = repository
        self.base_url = base_url.rstrip("/")
        self.return_resources = return_resources
        self._conditional_cache: dict[str, str] = {}

    def process(self, bundle) -> dict:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise InvalidRequest.single("POST to the base URL takes a Bundle of type batch or transaction")
        kind = bundle.get("type")
        if kind not in ("batch", "transaction"):
            raise InvalidRequest.single(f"Bundle.type must be batch or transaction, not '{kind}'",
                                        expression="Bundle.type")
        entries = _parse_entries(bundle, batch=kind == "batch")
        if kind == "transaction":
            responses = self._transaction(entries)
        else:
            responses = self._batch(entries)
        return {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": f"{kind}-response",
            "entry": responses,
        }

    # -- references ------------------------------------------------------------------------------

    def _resolve_conditional(self, reference: str) -> str:
        if reference not in self._conditional_cache:
            resource_type, _, query = reference.partition("?")
            matches = self.repository.find_ids(resource_type, query)
            if len(matches) != 1:
                raise PreconditionFailed(
                    f"the conditional reference '{reference}' matches {len(matches)} resources, not exactly one"
                )
            self._conditional_cache[reference] = matches[0].reference
        return self._conditional_cache[reference]

    def _rewrite(self, node, mapping: dict[str, str]):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "reference" and isinstance(value, str):
                    if value in mapping:
                        node[key] = mapping[value]
                    elif value.startswith("urn:uuid:") or value.startswith("urn:oid:"):
                        raise InvalidRequest.single(f"reference '{value}' names no entry of this Bundle")
                    elif "?" in value and validation.is_resource_type(value.split("?", 1)[0]):
                        node[key] = self._resolve_conditional(value)
                else:
                    self._rewrite(value, mapping)
        elif isinstance(node, list):
            for item in node:
                self._rewrite(item, mapping)

    # -- transaction ----------------------------------------------------------------------------

    def _transaction(self, entries: list[_Entry]) -> list[dict]:
        mapping: dict[str, str] = {}
        try:
            for entry in entries:  # assign ids first so any entry may point at any other
                self._assign_identity(entry, mapping)
        except MederiError as error:
            raise _entry_error(entry.index, error) from error
        results: dict[int, dict] = {}
        with self.repository.atomic():
            self.repository.prefetch(
                [(e.resource_type, e.logical_id) for e in entries if e.method in ("PUT", "DELETE") and e.logical_id]
            )
            for entry in sorted(entries, key=lambda e: _ORDER.get(e.method, 1)):  # NOOP sorts as POST
                if entry.method == "GET":
                    self.repository.flush()
                try:
                    if entry.resource is not None:
                        self._rewrite(entry.resource, mapping)
                    results[entry.index] = self._execute(entry)
                except MederiError as error:
                    raise _entry_error(entry.index, error) from error
        return [results[entry.index] for entry in entries]

    def _assign_identity(self, entry: _Entry, mapping: dict[str, str]) -> None:
        if entry.method == "POST":
            existing = None
            if entry.if_none_exist:
                matches = self.repository.find_ids(entry.resource_type, entry.if_none_exist)
                if len(matches) > 1:
                    raise PreconditionFailed(f"ifNoneExist '{entry.if_none_exist}' matches {len(matches)} resources")
                existing = matches[0] if matches else None
            if existing is not None:
                entry.method = "NOOP"
                entry.logical_id = existing.logical_id
                entry.existing = existing
            else:
                entry.logical_id = str(uuid.uuid4())
        elif entry.method == "PUT" and entry.query:
            matches = self.repository.find_ids(entry.resource_type, entry.query)
            if len(matches) > 1:
                raise PreconditionFailed(f"'{entry.url}' matches {len(matches)} resources")
            entry.logical_id = matches[0].logical_id if matches else (entry.resource.get("id") or str(uuid.uuid4()))
        if entry.full_url and entry.logical_id:
            mapping[entry.full_url] = f"{entry.resource_type}/{entry.logical_id}"

    def _execute(self, entry: _Entry) -> dict:
        repo = self.repository
        if entry.method == "NOOP":
            return self._response(entry.existing, 200)
        if entry.method == "POST":
            outcome = repo.create(entry.resource, logical_id=entry.logical_id)
            return self._response(outcome.stored, outcome.status)
        if entry.method == "PUT":
            if entry.logical_id is None:
                raise InvalidRequest.single(f"PUT '{entry.url}' needs an id or a condition")
            resource = entry.resource
            if entry.query and "id" not in resource:
                resource = {**resource, "id": entry.logical_id}
            outcome = repo.update(entry.resource_type, entry.logical_id, resource,
                                  if_match=parse_if_match(entry.if_match))
            return self._response(outcome.stored, outcome.status)
        if entry.method == "PATCH":
            outcome = repo.patch(entry.resource_type, entry.logical_id, _patch_operations(entry),
                                 if_match=parse_if_match(entry.if_match))
            return self._response(outcome.stored, outcome.status)
        if entry.method == "DELETE":
            targets = [entry.logical_id] if entry.logical_id else [
                m.logical_id for m in repo.find_ids(entry.resource_type, entry.query or "")
            ]
            if len(targets) > 1:
                raise PreconditionFailed(f"DELETE '{entry.url}' matches more than one resource")
            for target in targets:
                repo.delete(entry.resource_type, target)
            return {"response": {"status": status_line(204)}}
        # GET: a read or a search
        if entry.logical_id:
            stored = repo.read(entry.resource_type, entry.logical_id)
            return {"resource": stored.as_dict(), "response": {"status": status_line(200), "etag": stored.etag}}
        from mederi.fhir.rendering import searchset_bundle

        result = repo.search(entry.resource_type, _query_items(entry.query), base_url=self.base_url)
        return {"resource": searchset_bundle(result, self.base_url, entry.resource_type),
                "response": {"status": status_line(200)}}

    def _response(self, stored: StoredResource, status: int) -> dict:
        response = {
            "status": status_line(status),
            "location": f"{stored.reference}/_history/{stored.version_id}",
            "etag": stored.etag,
            "lastModified": clock.fhir_instant(stored.last_updated),
        }
        entry = {"fullUrl": f"{self.base_url}/{stored.reference}" if self.base_url else stored.reference,
                 "response": response}
        if self.return_resources:
            entry["resource"] = stored.as_dict()
        return entry

    # -- batch ----------------------------------------------------------------------------------

    def _batch(self, entries: list[_Entry]) -> list[dict]:
        responses = []
        for entry in entries:
            if isinstance(entry, MederiError):  # an entry that could not be parsed fails alone
                responses.append({"response": {"status": status_line(entry.status),
                                               "outcome": operation_outcome(entry.issues)}})
                continue
            try:
                with transaction.atomic():
                    mapping: dict[str, str] = {}
                    self._assign_identity(entry, mapping)
                    if entry.resource is not None:
                        self._rewrite(entry.resource, {})
                    with self.repository.atomic():
                        responses.append(self._execute(entry))
            except MederiError as error:
                responses.append({"response": {"status": status_line(error.status),
                                               "outcome": operation_outcome(error.issues)}})
        return responses


def _patch_operations(entry: _Entry):
    resource = entry.resource
    if isinstance(resource, dict) and resource.get("resourceType") == "Binary":
        import base64


        return jsonio.loads(base64.b64decode(resource.get("data", "")))
    raise InvalidRequest.single("a PATCH entry carries its JSON Patch as a Binary resource")


def _query_items(query: str | None) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query or "", keep_blank_values=True)


__all__ = ["BundleProcessor", "status_line", "WriteOutcome"]
