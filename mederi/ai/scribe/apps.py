from django.apps import AppConfig


class ScribeConfig(AppConfig):
    name = "mederi.ai.scribe"
    label = "ai_scribe"
    verbose_name = "AI scribe: visit recordings, transcripts and draft notes"
    default_auto_field = "django.db.models.BigAutoField"
