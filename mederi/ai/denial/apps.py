from django.apps import AppConfig


class DenialConfig(AppConfig):
    name = "mederi.ai.denial"
    label = "ai_denial"
    verbose_name = "AI drafts: denial risk of claims"
    default_auto_field = "django.db.models.BigAutoField"
