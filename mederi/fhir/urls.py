from django.urls import path, re_path

from mederi.fhir import views

TYPE = r"(?P<resource_type>[A-Z][A-Za-z]+)"
ID = r"(?P<logical_id>[A-Za-z0-9\-\.]{1,64})"

urlpatterns = [
    path("", views.system, name="fhir-system"),
    path("metadata", views.metadata, name="fhir-metadata"),
    path("_history", views.history, name="fhir-history-system"),
    re_path(rf"^Patient/{ID}/\$everything$", views.everything, name="fhir-everything"),
    re_path(rf"^{TYPE}/\$validate$", views.validate, name="fhir-validate-type"),
    re_path(rf"^{TYPE}/{ID}/\$validate$", views.validate, name="fhir-validate-instance"),
    re_path(rf"^{TYPE}/_search$", views.type_search, name="fhir-search"),
    re_path(rf"^{TYPE}/_history$", views.history, name="fhir-history-type"),
    re_path(rf"^{TYPE}$", views.type_level, name="fhir-type"),
    re_path(rf"^{TYPE}/{ID}/_history$", views.history, name="fhir-history-instance"),
    re_path(rf"^{TYPE}/{ID}/_history/(?P<version_id>[^/]+)$", views.vread, name="fhir-vread"),
    re_path(rf"^{TYPE}/{ID}$", views.instance, name="fhir-instance"),
    re_path(r"^(?P<rest>.*)$", views.unknown_path, name="fhir-unknown"),
]
