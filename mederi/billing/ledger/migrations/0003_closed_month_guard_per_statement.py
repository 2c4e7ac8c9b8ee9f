"""The closed-month guards again: on PostgreSQL once per INSERT statement (over a transition table)
instead of once per row, and on SQLite skipped at once while no month is closed (see triggers.py)."""

from django.db import migrations


def reinstall(apps, schema_editor):
    from mederi.billing.ledger import triggers

    for sql in triggers.drop_sql(schema_editor.connection.vendor) + triggers.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_month_close")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
