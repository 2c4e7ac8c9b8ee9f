"""On PostgreSQL, string values are indexed with text_pattern_ops, so a search by the beginning of
a name (`LIKE 'gre%'`, what `name=gre` means) is answered from the index whatever the database's
collation; equality still uses it. SQLite keeps its index: the search gives it a range instead."""

from django.db import migrations

_PATTERN_INDEX = ("CREATE INDEX fhir_idx_string_lookup ON fhir_idx_string "
                  "(resource_type, param, value text_pattern_ops)")
_PLAIN_INDEX = "CREATE INDEX fhir_idx_string_lookup ON fhir_idx_string (resource_type, param, value)"


def _replace_index(create_sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("DROP INDEX IF EXISTS fhir_idx_string_lookup")
            schema_editor.execute(create_sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("fhir", "0003_snapshot_owner")]

    operations = [migrations.RunPython(_replace_index(_PATTERN_INDEX), _replace_index(_PLAIN_INDEX))]
