"""A trigger that refuses any entry not chained from the last one, in place of the unique indexes
on `hash` and `prev_hash` (see audit/triggers.py for why).

SQLite cannot drop an inline constraint, so Django rebuilds the table there (copying the rows,
which the triggers allow); the rebuilt table has no triggers, so all of them are installed again.
"""

from django.db import migrations


def install_triggers(apps, schema_editor):
    from mederi.audit import triggers

    for sql in triggers.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.RemoveConstraint(model_name="auditentry", name="audit_entry_hash_unique"),
        migrations.RemoveConstraint(model_name="auditentry", name="audit_entry_prev_hash_unique"),
        migrations.RunPython(install_triggers, migrations.RunPython.noop),
    ]
