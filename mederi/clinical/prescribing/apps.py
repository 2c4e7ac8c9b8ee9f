from django.apps import AppConfig


class PrescribingConfig(AppConfig):
    name = "mederi.clinical.prescribing"
    label = "prescribing"
    verbose_name = "Prescribing and e-prescribing"
