from django.apps import AppConfig


class PatientBillingConfig(AppConfig):
    name = "mederi.billing.patient_billing"
    label = "patient_billing"
    verbose_name = "Patient billing: statements, card payments and payment plans"
