"""On PostgreSQL the chain guard checks each INSERT or COPY statement once, not each row (see
audit/triggers.py); installing the triggers again replaces the per-row one. SQLite, which has
only per-row triggers, is unchanged."""

from django.db import migrations


def install_triggers(apps, schema_editor):
    from mederi.audit import triggers

    if schema_editor.connection.vendor == "postgresql":
        for sql in triggers.install_sql("postgresql"):
            schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_guard")]

    operations = [migrations.RunPython(install_triggers, migrations.RunPython.noop)]
