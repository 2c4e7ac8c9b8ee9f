from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "mederi.patients"
    label = "patients"
    verbose_name = "Registration: patients, guarantors, coverage, duplicates"
