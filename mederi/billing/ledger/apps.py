from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "mederi.billing.ledger"
    label = "ledger"
    verbose_name = "Billing ledger: accounts, transactions and postings"
