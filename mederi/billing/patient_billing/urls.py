from django.urls import path

from mederi.billing.patient_billing import views

app_name = "patient_billing"
urlpatterns = [
    path("statements/", views.statement_list, name="statements"),
    path("statements/runs/<int:run_id>/", views.run, name="run"),
    path("statements/<str:number>.pdf", views.statement_pdf, name="statement-pdf"),
    path("plans/", views.plan_list, name="plans"),
    path("patients/<str:patient_id>/", views.patient, name="patient"),
]
