"""Routes of the patient-facing pages, mounted at /p/ (URL names `portal:...`).

- `q/<token>`: the patient's questionnaire (no sign-in: the token in the link is the authority);
- `invites/appointment/<id>`: the check-in panel of an appointment's questionnaire link (htmx partial),
  and `.../give` to give (or give again) the link;
- `responses/<id>`: a patient's answers, for staff.
"""

from django.urls import path

from mederi.portal import views

app_name = "portal"
urlpatterns = [
    path("q/<str:token>", views.questionnaire, name="questionnaire"),
    path("invites/appointment/<str:appointment_id>", views.invite_panel, name="invite-panel"),
    path("invites/appointment/<str:appointment_id>/give", views.give_link, name="give-link"),
    path("responses/<str:response_id>", views.response, name="response"),
]
