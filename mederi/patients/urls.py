from django.urls import path

from mederi.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.search_page, name="search"),
]
