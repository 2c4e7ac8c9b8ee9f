from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "mederi.interop"
    label = "interop"
    verbose_name = "Interfaces (HL7 v2 over MLLP)"
