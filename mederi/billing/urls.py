from django.urls import path

from mederi.billing import views

app_name = "billing"
urlpatterns = [
    path("payers/", views.payer_list, name="payers"),
]
