from django.urls import path

from mederi.fhir.views import healthz
from mederi.web import views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path("", views.home, name="home"),
]
