from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "mederi.reports"
    label = "reports"
    verbose_name = "Reports: no-shows, provider utilization, appointments, eligibility failures"
