from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "mederi.portal"
    label = "portal"
    verbose_name = "Patient-facing pages"
