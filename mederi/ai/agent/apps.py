from django.apps import AppConfig


class AgentConfig(AppConfig):
    name = "mederi.ai.agent"
    label = "ai_agent"
    verbose_name = "AI front-desk agent: patients' messages, conversations and hand-over"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # A reminder reply that is more than "C" or "X" comes to the agent (see reminders/incoming.py).
        from mederi.ai.agent import inbound
        from mederi.scheduling.reminders.incoming import text_reply_received

        text_reply_received.connect(inbound.reminder_reply, dispatch_uid="ai_agent.reminder_reply")
