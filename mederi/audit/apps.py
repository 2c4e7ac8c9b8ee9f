from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mederi.audit"
    label = "audit"
    verbose_name = "Audit log"
