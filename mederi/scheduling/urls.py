from django.urls import path

from mederi.scheduling import views

app_name = "scheduling"
urlpatterns = [
    path("", views.day_calendar, name="day"),
]
