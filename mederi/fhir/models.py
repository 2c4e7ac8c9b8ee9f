"""Storage of the record.

`Resource` holds the current version of every resource as the JSON bytes served on read;
`ResourceHistory` holds every version ever written. The `Search*` tables hold the values of
each resource's search parameters, one row per value, rebuilt on every write, so that a
search is a set of indexed lookups rather than a scan of JSON.
"""

from django.db import models


class Resource(models.Model):
    resource_type = models.CharField(max_length=64)
    logical_id = models.CharField(max_length=64)
    version_id = models.PositiveIntegerField()
    last_updated = models.DateTimeField()
    deleted = models.BooleanField(default=False)
    content = models.TextField()  # the JSON served on read, meta included; kept after delete

    class Meta:
        db_table = "fhir_resource"
        constraints = [
            models.UniqueConstraint(fields=["resource_type", "logical_id"], name="fhir_resource_type_id"),
        ]
        indexes = [models.Index(fields=["resource_type", "last_updated"], name="fhir_resource_type_upd")]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.logical_id}/_history/{self.version_id}"


class ResourceHistory(models.Model):
    resource_type = models.CharField(max_length=64)
    logical_id = models.CharField(max_length=64)
    version_id = models.PositiveIntegerField()
    last_updated = models.DateTimeField()
    method = models.CharField(max_length=8)  # POST, PUT, PATCH, DELETE
    deleted = models.BooleanField(default=False)
    content = models.TextField()

    class Meta:
        db_table = "fhir_resource_history"
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "logical_id", "version_id"], name="fhir_history_version"
            ),
        ]
        indexes = [
            models.Index(fields=["last_updated"], name="fhir_history_upd"),
            models.Index(fields=["resource_type", "last_updated"], name="fhir_history_type_upd"),
        ]


class _SearchIndex(models.Model):
    # No database-level foreign key: rows are deleted and rebuilt with their resource in the
    # same transaction, and skipping the constraint check keeps bulk imports fast. No index of
    # its own either: each table's `_res` index leads with the resource and also holds what
    # "does this resource have that value" asks (a search's EXISTS, a calendar's location), so
    # that question is answered from the index alone.
    resource = models.ForeignKey(Resource, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                 related_name="+")
    resource_type = models.CharField(max_length=64)
    param = models.CharField(max_length=64)

    class Meta:
        abstract = True


class SearchToken(_SearchIndex):
    system = models.TextField(null=True)
    code = models.TextField(null=True)
    text = models.TextField(null=True)  # display / CodeableConcept.text, normalised, for :text

    class Meta:
        db_table = "fhir_idx_token"
        indexes = [
            models.Index(fields=["resource_type", "param", "code", "system"], name="fhir_idx_token_lookup"),
            models.Index(fields=["resource", "param", "code"], name="fhir_idx_token_res"),
        ]


class SearchString(_SearchIndex):
    value = models.TextField()  # normalised: lower case, accents removed
    exact = models.TextField()

    class Meta:
        db_table = "fhir_idx_string"
        indexes = [
            models.Index(fields=["resource_type", "param", "value"], name="fhir_idx_string_lookup"),
            models.Index(fields=["resource", "param"], name="fhir_idx_string_res"),
        ]


class SearchDate(_SearchIndex):
    low = models.DateTimeField(null=True)  # null: open start
    high = models.DateTimeField(null=True)  # null: open end

    class Meta:
        db_table = "fhir_idx_date"
        indexes = [
            models.Index(fields=["resource_type", "param", "low", "high"], name="fhir_idx_date_lookup"),
            models.Index(fields=["resource", "param", "low"], name="fhir_idx_date_res"),
        ]


class SearchReference(_SearchIndex):
    target_type = models.CharField(max_length=64, null=True)
    target_id = models.CharField(max_length=64, null=True)
    url = models.TextField(null=True)  # absolute or canonical references
    identifier_system = models.TextField(null=True)  # Reference.identifier, for :identifier
    identifier_value = models.TextField(null=True)

    class Meta:
        db_table = "fhir_idx_reference"
        indexes = [
            models.Index(fields=["resource_type", "param", "target_id", "target_type"], name="fhir_idx_ref_lookup"),
            models.Index(fields=["target_type", "target_id"], name="fhir_idx_ref_target"),
            models.Index(fields=["resource", "param", "target_type", "target_id"], name="fhir_idx_ref_res"),
        ]


class SearchNumber(_SearchIndex):
    value = models.FloatField()

    class Meta:
        db_table = "fhir_idx_number"
        indexes = [
            models.Index(fields=["resource_type", "param", "value"], name="fhir_idx_number_lookup"),
            models.Index(fields=["resource", "param"], name="fhir_idx_number_res"),
        ]


class SearchQuantity(_SearchIndex):
    value = models.FloatField()
    system = models.TextField(null=True)
    code = models.TextField(null=True)
    unit = models.TextField(null=True)

    class Meta:
        db_table = "fhir_idx_quantity"
        indexes = [
            models.Index(fields=["resource_type", "param", "value"], name="fhir_idx_quantity_lookup"),
            models.Index(fields=["resource", "param"], name="fhir_idx_quantity_res"),
        ]


class SearchUri(_SearchIndex):
    value = models.TextField()

    class Meta:
        db_table = "fhir_idx_uri"
        indexes = [
            models.Index(fields=["resource_type", "param", "value"], name="fhir_idx_uri_lookup"),
            models.Index(fields=["resource", "param"], name="fhir_idx_uri_res"),
        ]


class SearchSnapshot(models.Model):
    """The ordered ids of one search, so paging links keep working while others write."""

    key = models.CharField(max_length=36, unique=True)
    created = models.DateTimeField()
    resource_type = models.CharField(max_length=64)
    query = models.TextField()  # the normalised query string the snapshot answers
    ids = models.TextField()  # JSON list of Resource primary keys, in result order
    total = models.PositiveIntegerField()
    owner = models.CharField(max_length=200, blank=True)  # whose search it was: only they may page it

    class Meta:
        db_table = "fhir_search_snapshot"
        indexes = [models.Index(fields=["created"], name="fhir_snapshot_created")]
