from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "mederi.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling: availability, appointments, check-in, reminders"
