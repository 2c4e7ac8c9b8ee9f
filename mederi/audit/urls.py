from django.urls import path

from mederi.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.report, name="report"),
    path("export.csv", views.report_csv, name="export"),
    path("emergency/", views.emergency_report, name="emergency"),
    path("emergency/export.csv", views.emergency_report_csv, name="emergency-export"),
    path("patients/<str:patient_id>/", views.patient_disclosures, name="disclosures"),
    path("patients/<str:patient_id>/export.csv", views.patient_disclosures_csv, name="disclosures-export"),
]
