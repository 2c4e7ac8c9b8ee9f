"""PostgreSQL: resource content compressed with LZ4 instead of the default pglz.

PostgreSQL compresses a stored value of more than about 2 KB (a ClaimResponse with its adjudications, a
Bundle-sized resource). pglz cost this row's insert more than the rest of it: posting an 835 of 10,000
claim payments spent 0.8 s storing the ClaimResponses and their history, 0.5 s with LZ4, which also
decompresses several times faster on every read. Values already stored keep their compression until
rewritten. A server built without LZ4 keeps pglz (the migration notes it and goes on).
"""

from django.db import migrations

TABLES = ("fhir_resource", "fhir_resource_history")


def _set(schema_editor, method: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    statements = " ".join(f"ALTER TABLE {table} ALTER COLUMN content SET COMPRESSION {method};" for table in TABLES)
    schema_editor.execute(f"DO $$ BEGIN {statements} EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN "
                          f"RAISE NOTICE 'content compression stays as it was (no LZ4 in this server)'; END $$")


def use_lz4(apps, schema_editor):
    _set(schema_editor, "lz4")


def use_pglz(apps, schema_editor):
    _set(schema_editor, "pglz")


class Migration(migrations.Migration):
    dependencies = [("fhir", "0005_resource_indexes_cover_param")]
    operations = [migrations.RunPython(use_lz4, use_pglz)]
