"""A text reminder's whole life over real sockets: sent to the provider stand-in, reported delivered
by it to Mederi's webhook, and confirmed by the patient's reply."""

from datetime import timedelta

from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.models import ReminderMessage

from .conftest import NOW, make_appointment, make_patient, make_practice, make_rule, read_appointment

FRIDAY_9 = NOW + timedelta(days=4, hours=1)


def test_remind_deliver_and_confirm_by_reply(live_server, sms_settings, settings, frozen):
    settings.MEDERI_REMINDER_WEBHOOK_BASE = live_server.url
    provider = sms_settings
    provider.inbound_url = f"{live_server.url}/schedule/reminders/hooks/inbound"
    make_practice()
    make_patient()
    make_appointment()
    make_rule("SMS the day before", amount=1, unit="days")
    services.schedule_reminders("appt-1")
    frozen.moment = FRIDAY_9 - timedelta(days=1)

    assert services.send_due_reminders().counts == {"sent": 1}
    [sent] = provider.messages
    assert sent.status_callback == f"{live_server.url}/schedule/reminders/hooks/status"

    assert provider.post_status(sent.sid, "delivered").status == 204
    assert ReminderMessage.objects.get().status == "delivered"

    answer = provider.post_inbound("+1 (555) 123-0001", "C")
    assert answer.status == 200
    assert provider.replies == [("+1 (555) 123-0001", "Thank you, Maria. Your appointment with Dr. Ana Ruiz on "
                                                      "Friday, March 6, 2026 at 9:00 AM is confirmed.")]
    assert read_appointment()["extension"][0]["url"] == "urn:mederi:appointment-confirmed"
