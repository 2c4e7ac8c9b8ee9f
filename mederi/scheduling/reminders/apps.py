from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "mederi.scheduling.reminders"
    label = "reminders"
    verbose_name = "Appointment reminders and confirmations"
