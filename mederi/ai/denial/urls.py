"""Denial risk (names are `ai_denial:<name>`)."""

from django.urls import path

from mederi.ai.denial import views

app_name = "ai_denial"

urlpatterns = [
    path("", views.model_page, name="model"),
    path("retrain/", views.retrain, name="retrain"),
    path("claims/<str:claim_id>/score/", views.score, name="score"),
]
