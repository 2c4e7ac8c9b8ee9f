"""PostgreSQL extended statistics on the search-index tables.

The planner otherwise treats `param`, `system` and `code` (or `target_id`) as independent and
underestimates how many rows a condition matches; these statistics bring its estimates for the
index tables' usual multi-column conditions closer to the truth.
"""

from django.db import migrations

STATISTICS = {
    "fhir_idx_token_deps": ("fhir_idx_token", "dependencies, mcv", "resource_type, param, system, code"),
    "fhir_idx_ref_deps": ("fhir_idx_reference", "dependencies", "resource_type, param, target_type, target_id"),
    "fhir_idx_string_deps": ("fhir_idx_string", "dependencies", "resource_type, param, value"),
    "fhir_idx_date_deps": ("fhir_idx_date", "dependencies", "resource_type, param"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, kinds, columns) in STATISTICS.items():
        schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {name} ({kinds}) ON {columns} FROM {table}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in STATISTICS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("fhir", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
