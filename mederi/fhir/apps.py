from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "mederi.fhir"
    label = "fhir"
