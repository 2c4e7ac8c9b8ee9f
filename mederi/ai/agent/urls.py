"""The front-desk agent's staff screens (names are `ai_agent:<name>`)."""

from django.urls import path

from mederi.ai.agent import views

app_name = "ai_agent"

urlpatterns = [
    path("", views.conversations, name="conversations"),
    path("try/", views.try_message, name="try"),
    path("my-messages/", views.my_messages, name="my-messages"),
    path("requests/<str:task_id>/done/", views.close_request, name="close-request"),
    path("<int:conversation_id>/", views.conversation, name="conversation"),
    path("<int:conversation_id>/take-over/", views.take_over, name="take-over"),
    path("<int:conversation_id>/hand-back/", views.hand_back, name="hand-back"),
    path("<int:conversation_id>/reply/", views.reply, name="reply"),
]
