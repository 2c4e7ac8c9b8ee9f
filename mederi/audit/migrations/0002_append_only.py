"""Triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) of audit entries."""

from django.db import migrations


def install(apps, schema_editor):
    from mederi.audit import triggers

    for sql in triggers.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, None)


def remove(apps, schema_editor):
    from mederi.audit import triggers

    for sql in triggers.drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
