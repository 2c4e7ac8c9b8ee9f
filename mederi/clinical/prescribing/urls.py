from django.urls import path

from mederi.clinical.prescribing import views

app_name = "prescribing"
urlpatterns = [
    path("patients/<str:patient_id>/prescribe/", views.prescribe, name="prescribe"),
    path("patients/<str:patient_id>/prescribe/drugs", views.drug_choices, name="drugs"),
    path("patients/<str:patient_id>/prescribe/check", views.check_drug, name="check"),
    path("prescriptions/<str:request_id>/", views.prescription, name="prescription"),
    path("prescriptions/<str:request_id>/pdf", views.prescription_pdf, name="pdf"),
    path("prescriptions/<str:request_id>/cancel", views.cancel, name="cancel"),
    path("pharmacies/", views.pharmacy_directory, name="pharmacies"),
    path("pharmacies/<str:pharmacy_id>/active", views.pharmacy_active, name="pharmacy-active"),
]
