from django.urls import include, path

from mederi.billing import views

app_name = "billing"
urlpatterns = [
    path("payers/", views.payer_list, name="payers"),
    path("payers/new/", views.payer_new, name="payer-new"),
    path("payers/<str:organization_id>/", views.payer_edit, name="payer-edit"),
    path("eligibility/coverage/<str:coverage_id>", views.eligibility, name="eligibility"),
    path("remittance/", include("mederi.billing.remittance.urls")),
    path("ledger/", include("mederi.billing.ledger.urls")),
]
