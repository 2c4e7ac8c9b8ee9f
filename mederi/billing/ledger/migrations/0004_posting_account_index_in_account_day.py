import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """The postings' own account index repeats the start of ledger_posting_account_day: every posting
    paid for both. Dropped by name, because Django would rebuild the table on SQLite to drop it, and
    the rebuild would take the append-only and closed-month triggers with it."""

    dependencies = [
        ("ledger", "0003_closed_month_guard_per_statement"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="posting",
                    name="account",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="postings", to="ledger.account"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS ledger_posting_account_id_964f801d",
                    "CREATE INDEX ledger_posting_account_id_964f801d ON ledger_posting (account_id)",
                ),
            ],
        ),
    ]
