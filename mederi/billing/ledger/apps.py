from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "mederi.billing.ledger"
    label = "ledger"
    verbose_name = "Billing ledger: accounts, transactions and postings"

    def ready(self) -> None:
        from mederi.audit import triggers as audit_triggers

        from . import triggers

        audit_triggers.also_lift_on_wipe(triggers.lifted)
