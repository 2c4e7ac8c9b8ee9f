"""The one write path of the record.

Every change to a resource — from the API, the UI, importers, jobs or the AI — goes through
`Repository(context)`. A write validates the resource, stores the new current version and its
history row, and rebuilds its search-index rows, all in one database transaction. Several
writes can be staged in a `_UnitOfWork` and flushed together: a transaction bundle of 2,000
entries becomes a handful of bulk inserts instead of 20,000 single-row statements.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from django.db import IntegrityError, connection, transaction

from mederi.audit import services as audit
from mederi.core import bulk, clock, epoch
from mederi.core.context import Context
from mederi.core.errors import (
    Conflict,
    Gone,
    InvalidRequest,
    InvalidResource,
    Issue,
    MederiError,
    NotFound,
    PreconditionFailed,
)
from mederi.fhir import access, indexing, jsonio, sensitive, validation
from mederi.fhir.jsonpatch import apply_patch
from mederi.fhir.models import (
    Resource,
    ResourceHistory,
    SearchDate,
    SearchNumber,
    SearchQuantity,
    SearchReference,
    SearchString,
    SearchToken,
    SearchUri,
)

INDEX_MODELS = {
    "token": (SearchToken, ("system", "code", "text")),
    "string": (SearchString, ("value", "exact")),
    "date": (SearchDate, ("low", "high")),
    "reference": (SearchReference, ("target_type", "target_id", "url", "identifier_system", "identifier_value")),
    "number": (SearchNumber, ("value",)),
    "quantity": (SearchQuantity, ("value", "system", "code", "unit")),
    "uri": (SearchUri, ("value",)),
}

_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.")


@dataclass(frozen=True)
class StoredResource:
    """One version of a resource as stored: `content` is the exact JSON served on read."""

    pk: int | None
    resource_type: str
    logical_id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    content: str

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.logical_id}"

    def as_dict(self) -> dict:
        return jsonio.loads(self.content)


@dataclass(frozen=True)
class WriteOutcome:
    stored: StoredResource
    status: int  # 201 created, 200 updated or unchanged, 204 deleted


def check_logical_id(logical_id: str) -> None:
    if not logical_id or len(logical_id) > 64 or not set(logical_id) <= _ID_CHARS:
        raise InvalidRequest.single(
            f"'{logical_id}' is not a valid resource id (1-64 letters, digits, '-' or '.')", code="value"
        )


def check_resource_type(resource_type: str) -> None:
    if not validation.is_resource_type(resource_type):
        raise NotFound(f"'{resource_type}' is not a FHIR R4 resource type")


def parse_if_match(header: str | None) -> int | None:
    """`W/"3"` or `"3"` -> 3."""
    if not header:
        return None
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit():
        raise InvalidRequest.single(f"If-Match '{header}' is not a version ETag like W/\"3\"")
    return int(value)


def _without_meta_versioning(resource: dict) -> dict:
    body = {k: v for k, v in resource.items() if k != "meta"}
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        body["meta"] = meta
    return body


@dataclass
class _PendingWrite:
    existing_pk: int | None
    stored: StoredResource
    method: str
    index_rows: dict = field(default_factory=dict)
    db_content: str | None = None


_RESOURCE_COLUMNS = ("resource_type", "logical_id", "version_id", "last_updated", "deleted", "content")


class _UnitOfWork:
    """Writes staged inside one database transaction and flushed as bulk statements."""

    def __init__(self, context: Context | None = None):
        self.pending: list[_PendingWrite] = []
        self.keys: set[tuple[str, str]] = set()
        self.context = context  # whose writes these are: logged in the same transaction

    def add(self, write: _PendingWrite) -> None:
        key = (write.stored.resource_type, write.stored.logical_id)
        if key in self.keys:
            raise Conflict(f"{key[0]}/{key[1]} is written twice in the same request", code="duplicate")
        self.keys.add(key)
        self.pending.append(write)

    def flush(self) -> list[StoredResource]:
        if not self.pending:
            return []
        now_rows = []
        new_rows = []
        replaced_pks = []
        db_datetime = bulk.datetime_adapter()
        for write in self.pending:
            s = write.stored
            write.db_content = sensitive.seal(s.resource_type, s.content)  # what the database holds
            if write.existing_pk is None:
                new_rows.append((s.resource_type, s.logical_id, s.version_id, db_datetime(s.last_updated), s.deleted,
                                 write.db_content))
            else:
                replaced_pks.append(write.existing_pk)
                updated = Resource.objects.filter(pk=write.existing_pk, version_id=s.version_id - 1).update(
                    version_id=s.version_id, last_updated=s.last_updated, deleted=s.deleted, content=write.db_content
                )
                if not updated:
                    raise Conflict(f"{s.reference} was changed by someone else meanwhile; read it again")
        try:
            # Plain rows, new keys returned: a model instance per resource cost more than its insert.
            created = bulk.insert_returning_ids(Resource._meta.db_table, _RESOURCE_COLUMNS, new_rows, batch=200)
            _insert_rows(
                ResourceHistory._meta.db_table,
                ("resource_type", "logical_id", "version_id", "last_updated", "method", "deleted", "content"),
                [
                    (w.stored.resource_type, w.stored.logical_id, w.stored.version_id,
                     db_datetime(w.stored.last_updated), w.method, w.stored.deleted, w.db_content)
                    for w in self.pending
                ],
            )
        except IntegrityError as exc:
            raise Conflict("a resource with this id was created by someone else meanwhile; retry") from exc
        created_iter = iter(created)
        for write in self.pending:
            pk = write.existing_pk if write.existing_pk is not None else next(created_iter)
            write.stored = StoredResource(pk, *_fields_after_pk(write.stored))
            now_rows.append(write)
        self._replace_index_rows(now_rows, replaced_pks, db_datetime)
        if _changes_restrictions(now_rows):
            epoch.bump()
        if self.context is not None:
            audit.record_writes(self.context, [_audit_item(w) for w in now_rows])
        stored = [w.stored for w in now_rows]
        self.pending = []
        self.keys = set()
        return stored

    @staticmethod
    def _replace_index_rows(writes: list[_PendingWrite], replaced_pks: list[int], db_datetime) -> None:
        for kind, (model, columns) in INDEX_MODELS.items():
            if replaced_pks:
                for start in range(0, len(replaced_pks), 500):
                    model.objects.filter(resource_id__in=replaced_pks[start : start + 500])._raw_delete(
                        model.objects.db
                    )
            rows = []
            for write in writes:
                s = write.stored
                head = (s.pk, s.resource_type)
                for values in write.index_rows.get(kind, ()):
                    if kind == "date":  # (param, low, high): the moments in the database's form
                        values = (values[0], db_datetime(values[1]), db_datetime(values[2]))
                    rows.append(head + values)
            _insert_rows(model._meta.db_table, ("resource_id", "resource_type", "param") + columns, rows)


def _changes_restrictions(writes: list[_PendingWrite]) -> bool:
    """A Patient gained or lost a restricted label: cached access decisions must be redone."""
    restricted = None
    for write in writes:
        s = write.stored
        if s.resource_type != "Patient":
            continue
        if not s.deleted and "security" in s.content and access.is_restricted_label(jsonio.loads(s.content)):
            return True
        if restricted is None:
            restricted = access.restricted_patients()
        if s.logical_id in restricted:
            return True
    return False


def _audit_item(write: _PendingWrite) -> tuple[str, str, str | None]:
    """(action, reference, patient id) of a flushed write, the patient from its compartment."""
    s = write.stored
    action = "delete" if s.deleted else "patch" if write.method == "PATCH" else (
        "create" if s.version_id == 1 else "update")
    if s.resource_type == "Patient":
        return action, s.reference, s.logical_id
    params = indexing.patient_compartment_params(s.resource_type)
    for row in write.index_rows.get("reference", ()):
        if row[1] == "Patient" and row[2] and row[0] in params:
            return action, s.reference, row[2]
    patient = audit.patient_of(jsonio.loads(s.content)) if s.deleted and "Patient/" in s.content else None
    return action, s.reference, patient


_insert_rows = bulk.insert_rows  # plain rows: the ORM's per-field preparation costs more than the database here


_CURRENT_ROW_SQL = (
    "SELECT id, version_id, last_updated, deleted, content FROM fhir_resource "
    "WHERE resource_type = %s AND logical_id = %s"
)


def _datetime_from_db(value) -> datetime:
    """A DateTimeField value read with plain SQL: SQLite gives naive UTC text, PostgreSQL a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def _fields_after_pk(s: StoredResource):
    return (s.resource_type, s.logical_id, s.version_id, s.last_updated, s.deleted, s.content)


def _row_to_stored(row: Resource) -> StoredResource:
    return StoredResource(
        row.pk, row.resource_type, row.logical_id, row.version_id, row.last_updated, row.deleted, row.content
    )


class Repository:
    """Create, read, update, patch, delete and search resources on behalf of `context`."""

    def __init__(self, context: Context):
        self.context = context
        self._unit: _UnitOfWork | None = None
        self._row_cache: dict[tuple[str, str], Resource | None] | None = None
        self._atomic: _AtomicWrites | None = None

    def prefetch(self, keys: list[tuple[str, str]]) -> None:
        """Load the current rows of many resources at once, for the writes staged next."""
        if self._unit is None or not keys:
            return
        cache = self._row_cache if self._row_cache is not None else {}
        by_type: dict[str, list[str]] = {}
        for resource_type, logical_id in keys:
            cache.setdefault((resource_type, logical_id), None)
            by_type.setdefault(resource_type, []).append(logical_id)
        for resource_type, ids in by_type.items():
            for start in range(0, len(ids), 500):
                rows = Resource.objects.filter(resource_type=resource_type, logical_id__in=ids[start : start + 500])
                for row in rows:
                    row.content = sensitive.open_content(row.resource_type, row.content)
                    cache[(row.resource_type, row.logical_id)] = row
        self._row_cache = cache

    # -- reads -------------------------------------------------------------------------------

    def _current_row(self, resource_type: str, logical_id: str) -> Resource | None:
        if self._row_cache is not None and (resource_type, logical_id) in self._row_cache:
            return self._row_cache[(resource_type, logical_id)]
        # Plain SQL on the unique (resource_type, logical_id) index: compiling the ORM query cost
        # more than the lookup itself and halved read-by-id throughput.
        with connection.cursor() as cursor:
            cursor.execute(_CURRENT_ROW_SQL, [resource_type, logical_id])
            found = cursor.fetchone()
        if found is None:
            return None
        pk, version_id, last_updated, deleted, content = found
        return Resource(pk=pk, resource_type=resource_type, logical_id=logical_id, version_id=version_id,
                        last_updated=_datetime_from_db(last_updated), deleted=bool(deleted),
                        content=sensitive.open_content(resource_type, content))

    def read(self, resource_type: str, logical_id: str, interaction: str = "read") -> StoredResource:
        check_resource_type(resource_type)
        access.require(self.context, resource_type, interaction)
        row = self._current_row(resource_type, logical_id)
        if row is None:
            raise NotFound(f"{resource_type}/{logical_id} does not exist")
        if row.deleted:
            raise Gone(f"{resource_type}/{logical_id} was deleted")
        access.require_instance(self.context, row.pk, resource_type, logical_id, interaction)
        return _row_to_stored(row)

    def read_many(self, resource_type: str, logical_ids: list[str]) -> list[StoredResource]:
        """The current versions of those of these resources that exist and are not deleted, each access
        checked as `read` checks it (matching an 835 reads thousands: one query on PostgreSQL)."""
        from mederi.fhir import rows

        check_resource_type(resource_type)
        access.require(self.context, resource_type, "read")
        found: list[StoredResource] = []
        for chunk in rows.chunks(sorted(set(logical_ids))):
            among, values = rows.one_of("r.logical_id", chunk)
            stored = rows.fetch(f"SELECT {rows.SELECT_COLUMNS} FROM fhir_resource r WHERE r.resource_type = %s "
                                f"AND {among} AND r.deleted = %s", [resource_type, *values, False])
            if not self.context.is_system:
                visible = access.visible_pks(self.context, [s.pk for s in stored], "read")
                for hidden in (s for s in stored if s.pk not in visible):
                    access.require_instance(self.context, hidden.pk, resource_type, hidden.logical_id, "read")
            found += stored
        return found

    def require_instance(self, resource_type: str, logical_id: str, interaction: str) -> None:
        """The caller may `interaction` this resource (type and compartment); 404 if it never existed."""
        check_resource_type(resource_type)
        access.require(self.context, resource_type, interaction)
        row = self._current_row(resource_type, logical_id)
        if row is None:
            raise NotFound(f"{resource_type}/{logical_id} does not exist")
        access.require_instance(self.context, row.pk, resource_type, logical_id, interaction)

    def vread(self, resource_type: str, logical_id: str, version_id: str) -> StoredResource:
        self.require_instance(resource_type, logical_id, "vread")
        if not str(version_id).isdigit():
            raise NotFound(f"'{version_id}' is not a version of {resource_type}/{logical_id}")
        row = ResourceHistory.objects.filter(
            resource_type=resource_type, logical_id=logical_id, version_id=int(version_id)
        ).first()
        if row is None:
            raise NotFound(f"{resource_type}/{logical_id} has no version {version_id}")
        if row.deleted:
            raise Gone(f"version {version_id} of {resource_type}/{logical_id} is a deletion")
        return StoredResource(
            None, row.resource_type, row.logical_id, row.version_id, row.last_updated, row.deleted,
            sensitive.open_content(row.resource_type, row.content),
        )

    def search(self, resource_type: str | None, params, **options):
        from mederi.fhir.search import run_search

        return run_search(self, resource_type, params, **options)

    def find_ids(self, resource_type: str, query: str) -> list[StoredResource]:
        """Resources matching a conditional URL's query part (`identifier=a|b`), unpaged."""
        from mederi.fhir.search import match_query

        return match_query(resource_type, query, self.context)

    # -- writes ------------------------------------------------------------------------------

    def _stage(self, write: _PendingWrite) -> StoredResource:
        if self._unit is not None:
            self._unit.add(write)
            return write.stored
        unit = _UnitOfWork(self.context)
        unit.add(write)
        with transaction.atomic():
            return unit.flush()[0]

    def _prepare(self, resource: dict, resource_type: str, logical_id: str, version_id: int, method: str,
                 existing_pk: int | None) -> _PendingWrite:
        issues = validation.validate_resource(resource)
        if issues:
            raise InvalidResource(issues, 400)
        moment = clock.now()
        meta = dict(resource.get("meta") or {})
        meta["versionId"] = str(version_id)
        meta["lastUpdated"] = clock.fhir_instant(moment)
        body = {"resourceType": resource_type, "id": logical_id, "meta": meta}
        for key, value in resource.items():
            if key not in body:
                body[key] = value
        content = jsonio.dumps(body)
        stored = StoredResource(None, resource_type, logical_id, version_id, moment, False, content)
        index_rows = indexing.extract_index_rows(body)
        sensitive.protect_index_rows(resource_type, index_rows)
        return _PendingWrite(existing_pk, stored, method, index_rows)

    def _check_body(self, resource, resource_type: str | None = None) -> None:
        if not isinstance(resource, dict):
            raise InvalidRequest.single("the request body must be a JSON object (a FHIR resource)")
        found = resource.get("resourceType")
        if not isinstance(found, str) or not validation.is_resource_type(found):
            raise InvalidResource.single(
                f"resourceType '{found}' is not a FHIR R4 resource type", code="structure", expression="resourceType"
            )
        if resource_type and found != resource_type:
            raise InvalidResource.single(
                f"the body is a {found} but the URL names {resource_type}", code="invalid", expression="resourceType"
            )

    def create(self, resource: dict, *, if_none_exist: str | None = None, logical_id: str | None = None
               ) -> WriteOutcome:
        self._check_body(resource)
        resource_type = resource["resourceType"]
        access.require(self.context, resource_type, "create")
        if if_none_exist:
            matches = self.find_ids(resource_type, if_none_exist)
            if len(matches) > 1:
                raise PreconditionFailed(
                    f"If-None-Exist '{if_none_exist}' matches {len(matches)} {resource_type} resources"
                )
            if matches:
                return WriteOutcome(matches[0], 200)
        new_id = logical_id or str(uuid.uuid4())
        write = self._prepare(resource, resource_type, new_id, 1, "POST", None)
        access.require_new_content(self.context, resource_type, new_id, write.index_rows)
        return WriteOutcome(self._stage(write), 201)

    def update(self, resource_type: str, logical_id: str, resource: dict, *, if_match: int | None = None,
               method: str = "PUT") -> WriteOutcome:
        check_resource_type(resource_type)
        check_logical_id(logical_id)
        interaction = "patch" if method == "PATCH" else "update"
        access.require(self.context, resource_type, interaction)
        self._check_body(resource, resource_type)
        if resource.get("id") is None:
            raise InvalidResource.single("an update needs the resource id in the body", code="required",
                                         expression=f"{resource_type}.id")
        if resource.get("id") != logical_id:
            raise InvalidResource.single(
                f"the body's id '{resource.get('id')}' differs from the id '{logical_id}' in the URL",
                expression=f"{resource_type}.id",
            )
        row = self._current_row(resource_type, logical_id)
        if row is not None and not row.deleted:
            access.require_instance(self.context, row.pk, resource_type, logical_id, interaction)
        if if_match is not None:
            current = row.version_id if row is not None and not row.deleted else None
            if current != if_match:
                raise PreconditionFailed(
                    f"{resource_type}/{logical_id} is at version {current or 'none'}, not {if_match}; "
                    "read it again and reapply the change"
                )
        if row is not None and not row.deleted:
            if _without_meta_versioning(jsonio.loads(row.content)) == _without_meta_versioning(
                {**resource, "resourceType": resource_type}
            ):
                # The same content again: nothing changes, so no new version (makes re-imports idempotent).
                return WriteOutcome(_row_to_stored(row), 200)
        version = row.version_id + 1 if row is not None else 1
        write = self._prepare(resource, resource_type, logical_id, version, method, row.pk if row else None)
        access.require_new_content(self.context, resource_type, logical_id, write.index_rows)
        return WriteOutcome(self._stage(write), 201 if row is None or row.deleted else 200)

    def conditional_update(self, resource_type: str, query: str, resource: dict) -> WriteOutcome:
        check_resource_type(resource_type)
        access.require(self.context, resource_type, "update")
        self._check_body(resource, resource_type)
        matches = self.find_ids(resource_type, query)
        if len(matches) > 1:
            raise PreconditionFailed(f"'{query}' matches {len(matches)} {resource_type} resources; be more specific")
        if not matches:
            if resource.get("id"):
                return self.update(resource_type, resource["id"], resource)
            return self.create(resource)
        target = matches[0]
        if resource.get("id") not in (None, target.logical_id):
            raise InvalidResource.single(
                f"the body's id '{resource['id']}' differs from the matching resource {target.reference}",
                expression=f"{resource_type}.id",
            )
        return self.update(resource_type, target.logical_id, {**resource, "id": target.logical_id})

    def patch(self, resource_type: str, logical_id: str, operations, *, if_match: int | None = None
              ) -> WriteOutcome:
        current = self.read(resource_type, logical_id, interaction="patch")
        if if_match is not None and current.version_id != if_match:
            raise PreconditionFailed(
                f"{resource_type}/{logical_id} is at version {current.version_id}, not {if_match}"
            )
        patched = apply_patch(current.as_dict(), operations)
        if patched.get("resourceType") != resource_type or patched.get("id") != logical_id:
            raise InvalidResource.single("a patch may not change resourceType or id")
        return self.update(resource_type, logical_id, patched, if_match=current.version_id, method="PATCH")

    def delete(self, resource_type: str, logical_id: str) -> WriteOutcome | None:
        """Mark the resource deleted (a new, empty version); later reads answer 410."""
        check_resource_type(resource_type)
        access.require(self.context, resource_type, "delete")
        row = self._current_row(resource_type, logical_id)
        if row is None or row.deleted:
            return None
        access.require_instance(self.context, row.pk, resource_type, logical_id, "delete")
        moment = clock.now()
        stored = StoredResource(None, resource_type, logical_id, row.version_id + 1, moment, True, row.content)
        return WriteOutcome(self._stage(_PendingWrite(row.pk, stored, "DELETE", {})), 204)

    # -- several writes as one -----------------------------------------------------------------

    def atomic(self) -> "_AtomicWrites":
        """Stage writes and flush them in one transaction: `with repo.atomic(): ...`."""
        return _AtomicWrites(self)

    def flush(self) -> None:
        """Write what is staged so far; the transaction stays open until the atomic block ends."""
        if self._atomic is not None:
            self._atomic.begin()
        if self._unit is not None:
            self._unit.flush()
        self._row_cache = None


class _AtomicWrites:
    """Writes staged without holding the database, then flushed in one short transaction.

    Validation and indexing (the CPU-heavy part) run before the transaction opens, so another
    writer — a second import process, say — is not kept waiting meanwhile. What was read before
    is re-checked at flush: updates are guarded by the version they were based on, and creates by
    the unique id, so a concurrent change fails the whole unit with 409 instead of being lost.
    """

    def __init__(self, repository: Repository):
        self.repository = repository
        self._transaction = None

    def begin(self) -> None:
        if self._transaction is None:
            self._transaction = transaction.atomic()
            self._transaction.__enter__()

    def __enter__(self):
        self.repository._unit = _UnitOfWork(self.repository.context)
        self.repository._atomic = self
        return self.repository

    def _reset(self) -> None:
        self.repository._unit = None
        self.repository._atomic = None
        self.repository._row_cache = None

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.begin()
                self.repository._unit.flush()
        except BaseException as error:
            self._reset()
            self._transaction.__exit__(type(error), error, error.__traceback__)
            raise
        self._reset()
        if self._transaction is not None:
            return self._transaction.__exit__(exc_type, exc, tb)
        return False


__all__ = [
    "Repository",
    "StoredResource",
    "WriteOutcome",
    "MederiError",
    "Issue",
    "parse_if_match",
    "check_resource_type",
    "check_logical_id",
]
