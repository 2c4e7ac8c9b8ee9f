"""The AI scribe's pages (names are `ai_scribe:<name>`)."""

from django.urls import path

from mederi.ai.scribe import views

app_name = "ai_scribe"

urlpatterns = [
    path("visits/<str:encounter_id>/", views.visit, name="visit"),
    path("recordings/<int:recording_id>/", views.recording, name="recording"),
    path("recordings/<int:recording_id>/progress/", views.progress, name="progress"),
    path("parts/<int:part_id>/decide/", views.decide, name="decide"),
]
