from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mederi.core"
    label = "core"
