from django.urls import path

from mederi.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.search_page, name="search"),
    path("new", views.register, name="register"),
    path("new/duplicates", views.duplicate_check, name="duplicates"),
    path("merge", views.merge, name="merge"),
    path("<str:patient_id>/", views.detail, name="detail"),
    path("<str:patient_id>/edit", views.edit, name="edit"),
]
