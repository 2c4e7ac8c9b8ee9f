from django.urls import include, path

from mederi.clinical import chart_views, views
from mederi.clinical.entries import views as entry_views
from mederi.clinical.orders import views as order_views
from mederi.clinical.preventive import views as preventive_views

app_name = "clinical"
urlpatterns = [
    path("queue/", views.clinician_queue, name="queue"),
    path("inbox/", views.results_inbox, name="inbox"),
    path("inbox/<str:report_id>/", views.result_report, name="result"),
    path("inbox/<str:report_id>/sign", views.sign_result, name="result-sign"),
    path("patients/<str:patient_id>/", chart_views.patient_chart, name="chart"),
    path("patients/<str:patient_id>/entries/<str:kind>/", entry_views.entries, name="entries"),
    path("entries/suggestions/<str:kind>/", entry_views.suggestions, name="entry-suggestions"),
    path("patients/<str:patient_id>/lab-orders/new/", order_views.new_lab_order, name="lab-order-new"),
    path("patients/<str:patient_id>/lab-orders/<int:order_id>/", order_views.lab_order, name="lab-order"),
    path("patients/<str:patient_id>/care-gaps/badge", preventive_views.care_gap_badge, name="care-gap-badge"),
    path("", include("mederi.clinical.notes.urls")),
]
