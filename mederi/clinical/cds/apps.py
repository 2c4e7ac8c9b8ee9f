from django.apps import AppConfig


class CdsConfig(AppConfig):
    name = "mederi.clinical.cds"
    label = "cds"
    verbose_name = "Clinical decision support (CDS Hooks)"

    def ready(self):
        from mederi.clinical.cds import services  # noqa: F401  (registers the drug and patient-view services)
