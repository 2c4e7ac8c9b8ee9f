from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "mederi.web"
    label = "web"
