from django.urls import path

from mederi.billing.ledger import close_views, views

app_name = "ledger"
urlpatterns = [
    path("aging/", views.aging, name="aging"),
    path("day-sheet/", views.day_sheet, name="day-sheet"),
    path("close/", close_views.month_close, name="close"),
    path("patients/<str:patient_id>/", views.patient_account, name="patient"),
]
