from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "mederi.clinical"
    label = "clinical"
    verbose_name = "Clinical documentation"
