from django.urls import path

from mederi.clinical import views

app_name = "clinical"
urlpatterns = [
    path("queue/", views.clinician_queue, name="queue"),
]
