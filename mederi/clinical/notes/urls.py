"""Visit notes, included in the clinical URLs (names are `clinical:<name>`)."""

from django.urls import path

from mederi.clinical.notes import editor_views, supervision_views, views

urlpatterns = [
    path("visits/start/<str:appointment_id>/", views.start_visit, name="start-visit"),
    path("visits/<str:encounter_id>/", views.visit, name="visit"),
    path("visits/<str:encounter_id>/autosave/", views.autosave, name="visit-autosave"),
    path("notes/<str:composition_id>/addenda/", views.add_addendum, name="addendum-new"),
    path("notes/<str:composition_id>/sign/", views.sign_addendum, name="addendum-sign"),
    path("notes/<str:composition_id>/cosign/", views.cosign, name="note-cosign"),
    path("supervision/", supervision_views.supervision_list, name="supervision"),
    path("supervision/<str:practitioner_id>/", supervision_views.supervision_edit, name="supervision-edit"),
    path("templates/", editor_views.template_list, name="templates"),
    path("templates/new/", editor_views.template_edit, name="template-new"),
    path("templates/<str:template_id>/edit/", editor_views.template_edit, name="template-edit"),
]
