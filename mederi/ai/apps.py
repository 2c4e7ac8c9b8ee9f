from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "mederi.ai"
    label = "ai"
    verbose_name = "AI drafts: coding suggestions"
    default_auto_field = "django.db.models.BigAutoField"
