from django.urls import include, path

urlpatterns = [
    path("fhir/R4/", include("mederi.fhir.urls")),
    path("accounts/", include("mederi.accounts.urls")),
    path("audit/", include("mederi.audit.urls")),
    path("", include("mederi.web.urls")),
]
