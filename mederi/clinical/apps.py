from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "mederi.clinical"
    label = "clinical"
    verbose_name = "Clinical documentation"

    def ready(self):
        from mederi.clinical.preventive import cards  # noqa: F401  (adds preventive-care cards to patient-view)
