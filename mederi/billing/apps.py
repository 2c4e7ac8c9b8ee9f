from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "mederi.billing"
    label = "billing"
    verbose_name = "Billing: payers, eligibility, claims, payments"
