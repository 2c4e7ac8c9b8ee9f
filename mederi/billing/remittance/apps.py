from django.apps import AppConfig


class RemittanceConfig(AppConfig):
    name = "mederi.billing.remittance"
    label = "remittance"
    verbose_name = "Remittance: 835 files, posting, work queues"
