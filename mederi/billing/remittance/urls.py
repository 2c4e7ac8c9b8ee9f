from django.urls import path

from mederi.billing.remittance import views

app_name = "remittance"
urlpatterns = [
    path("", views.files, name="files"),
    path("work-queue/", views.work_queue, name="work-queue"),
    path("work-queue/<int:item_id>/resolve", views.resolve, name="resolve"),
    path("denials/", views.denial_queue, name="denials"),
    path("rejections/", views.rejections, name="rejections"),
    path("denial-rate/", views.denial_rate, name="denial-rate"),
]
