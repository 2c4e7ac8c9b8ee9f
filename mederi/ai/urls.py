"""AI drafts: coding suggestions for a note (names are `ai:<name>`)."""

from django.urls import path

from mederi.ai import views

app_name = "ai"

urlpatterns = [
    path("notes/<str:composition_id>/coding/", views.coding, name="coding"),
    path("suggestions/<int:suggestion_id>/decide/", views.decide, name="decide"),
]
