from django.urls import path

from mederi.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("no-shows/", views.no_shows, name="no-shows"),
    path("utilization/", views.utilization, name="utilization"),
    path("appointments/", views.appointments, name="appointments"),
    path("eligibility-failures/", views.eligibility_failures, name="eligibility-failures"),
    path("quality-measures/", views.quality_measures, name="quality-measures"),
]
