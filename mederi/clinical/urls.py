from django.urls import path

from mederi.clinical import views

app_name = "clinical"
urlpatterns = [
    path("queue/", views.clinician_queue, name="queue"),
    path("inbox/", views.results_inbox, name="inbox"),
    path("inbox/<str:report_id>/", views.result_report, name="result"),
    path("inbox/<str:report_id>/sign", views.sign_result, name="result-sign"),
]
