from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_starter_catalogue(sender, **kwargs):
    from mederi.clinical.drugs.catalogue import load_starter_catalogue

    load_starter_catalogue(using=kwargs.get("using", "default"))


class DrugsConfig(AppConfig):
    name = "mederi.clinical.drugs"
    label = "drugs"
    verbose_name = "Drug catalogue (RxNorm concepts)"

    def ready(self):
        # The shipped starter list follows the code: every migrate adds what a newer list brings.
        post_migrate.connect(_load_starter_catalogue, sender=self)
