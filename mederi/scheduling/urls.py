from django.urls import path

from mederi.scheduling import directory_views, views

app_name = "scheduling"
urlpatterns = [
    path("", views.day_calendar, name="day"),
    path("week/", views.location_week, name="week"),
    path("cancelled/", views.withdrawn, name="withdrawn"),
    path("provider/<str:practitioner_id>/", views.provider_day, name="provider-day"),
    path("provider/<str:practitioner_id>/week/", views.provider_week, name="provider-week"),
    path("book/", views.book, name="book"),
    path("book/free-times", views.free_times, name="free-times"),
    path("book/patients", views.patient_lookup, name="patient-lookup"),
    path("find/", views.find, name="find"),
    path("appointments/<str:appointment_id>/", views.appointment, name="appointment"),
    path("appointments/<str:appointment_id>/stage", views.appointment_stage, name="appointment-stage"),
    path("appointments/<str:appointment_id>/cancel", views.appointment_cancel, name="appointment-cancel"),
    path("appointments/<str:appointment_id>/reschedule", views.appointment_reschedule, name="appointment-reschedule"),
    path("patients/<str:patient_id>/appointments", views.patient_appointments, name="patient-appointments"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<int:entry_id>/<str:action>", views.waitlist_action, name="waitlist-action"),
    path("templates/", views.templates_admin, name="templates"),
    path("templates/<str:kind>/<int:row_id>/remove", views.template_remove, name="template-remove"),
    path("directory/", directory_views.index, name="directory"),
    path("directory/locations/new/", directory_views.location_new, name="directory-location-new"),
    path("directory/locations/<str:location_id>/", directory_views.location_edit, name="directory-location"),
    path("directory/locations/<str:location_id>/rooms", directory_views.room_add, name="directory-room-add"),
    path("directory/rooms/<str:room_id>", directory_views.room_edit, name="directory-room"),
    path("directory/providers/new/", directory_views.provider_new, name="directory-provider-new"),
    path("directory/providers/<str:practitioner_id>/", directory_views.provider_edit, name="directory-provider"),
]
