from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mederi.core"
    label = "core"

    def ready(self):
        from django.core.signals import request_finished, request_started

        from mederi.core import epoch

        request_started.connect(epoch.request_started, dispatch_uid="mederi-epoch-request-started")
        request_finished.connect(epoch.request_finished, dispatch_uid="mederi-epoch-request-finished")
