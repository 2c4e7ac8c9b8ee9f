from django.urls import path

from mederi.clinical.cds import views

app_name = "cds"
urlpatterns = [
    path("", views.discovery, name="discovery"),
    path("/<str:service_id>", views.service, name="service"),
    path("/<str:service_id>/feedback", views.feedback, name="feedback"),
]
