from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_shipped_templates(sender, **kwargs):
    from mederi.clinical.notes.catalogue import load_shipped_templates

    load_shipped_templates()


class NotesConfig(AppConfig):
    name = "mederi.clinical.notes"
    label = "notes"
    verbose_name = "Visit notes, note templates and encounters"

    def ready(self):
        # The six specialty templates are part of the product: every migrate adds any that is missing.
        post_migrate.connect(_load_shipped_templates, sender=self)
