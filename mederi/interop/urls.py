from django.urls import path

from mederi.interop import views

app_name = "interop"
urlpatterns = [
    path("labs/", views.lab_list, name="labs"),
    path("labs/new/", views.lab_new, name="lab-new"),
    path("labs/<int:connection_id>/", views.lab_edit, name="lab-edit"),
    path("refused/", views.dead_letter_list, name="dead-letters"),
    path("refused/<int:letter_id>/", views.dead_letter_detail, name="dead-letter"),
    path("refused/<int:letter_id>/replay", views.dead_letter_replay, name="dead-letter-replay"),
    path("refused/<int:letter_id>/dismiss", views.dead_letter_dismiss, name="dead-letter-dismiss"),
]
