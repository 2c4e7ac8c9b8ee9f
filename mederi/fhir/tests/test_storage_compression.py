"""PostgreSQL stores a large resource compressed with LZ4, and it reads back exactly as written."""

from __future__ import annotations

import pytest
from django.db import connection

from mederi.core.context import Context
from mederi.fhir.repository import Repository

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="value compression is PostgreSQL's")]


def test_a_large_resource_is_stored_with_lz4_and_reads_back_unchanged():
    note = " ".join(f"line {n}: the patient reports no change since the last visit." for n in range(200))
    repository = Repository(Context.system("test"))
    written = {"resourceType": "Basic", "code": {"text": "long note"},
               "extension": [{"url": "urn:example:note", "valueString": note}]}
    stored = repository.create(written, logical_id="long-note").stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(content) FROM fhir_resource WHERE id = %s", [stored.pk])
        assert cursor.fetchone()[0] == "lz4"
        cursor.execute("SELECT pg_column_compression(content) FROM fhir_resource_history "
                       "WHERE resource_type = 'Basic' AND logical_id = 'long-note'")
        assert cursor.fetchone()[0] == "lz4"
    assert repository.read("Basic", "long-note").as_dict()["extension"][0]["valueString"] == note
