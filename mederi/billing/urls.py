from django.urls import include, path

from mederi.billing import charge_views, claim_views, views

app_name = "billing"
urlpatterns = [
    path("payers/", views.payer_list, name="payers"),
    path("payers/new/", views.payer_new, name="payer-new"),
    path("payers/<str:organization_id>/", views.payer_edit, name="payer-edit"),
    path("eligibility/coverage/<str:coverage_id>", views.eligibility, name="eligibility"),
    path("remittance/", include("mederi.billing.remittance.urls")),
    path("ledger/", include("mederi.billing.ledger.urls")),
    path("patient-billing/", include("mederi.billing.patient_billing.urls")),
    path("charges/", charge_views.charges_start, name="charges-start"),
    path("charges/visit/<str:encounter_id>/", charge_views.charges, name="charges"),
    path("codes/procedures/", charge_views.procedure_options, name="procedure-options"),
    path("codes/diagnoses/", charge_views.diagnosis_options, name="diagnosis-options"),
    path("codes/patients/", charge_views.patient_options, name="patient-options"),
    path("claims/", claim_views.claim_list, name="claims"),
    path("claims/submit/", claim_views.submit_batch, name="claims-submit"),
    path("claims/runs/<int:run_id>/", claim_views.run, name="run"),
    path("claims/<str:claim_id>/", claim_views.claim, name="claim"),
    path("claims/<str:claim_id>/act/", claim_views.claim_action, name="claim-action"),
    path("claims/<str:claim_id>/cms1500.pdf", claim_views.claim_pdf, name="claim-pdf"),
    path("fees/", claim_views.fee_schedules, name="fee-schedules"),
    path("fees/<int:schedule_id>/", claim_views.fee_schedule, name="fee-schedule"),
]
