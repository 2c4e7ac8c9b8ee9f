"""Routes of reminders, mounted at /schedule/reminders/ (URL names `reminders:...`)."""

from django.urls import path

from mederi.scheduling.reminders import views

app_name = "reminders"
urlpatterns = [
    path("appointment/<str:appointment_id>", views.appointment_reminders, name="appointment"),
    path("appointment/<str:appointment_id>/send", views.send_reminder_now, name="send-now"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new", views.rule_new, name="rule-new"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/active", views.rule_active, name="rule-active"),
    path("outbox/", views.outbox, name="outbox"),
    path("hooks/status", views.status_callback, name="status-callback"),
    path("hooks/inbound", views.inbound_sms, name="inbound-sms"),
    path("hooks/voice/audio/<str:token>", views.voice_audio, name="voice-audio"),
    path("hooks/voice/<int:message_id>/answer", views.voice_answer, name="voice-answer"),
]
