"""The demo's reminders load twice without change and stay on the machine."""

from datetime import date, timedelta

from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.demo import load_demo
from mederi.scheduling.reminders.models import LocalOutboxMessage, ReminderMessage, ReminderRule

from .conftest import NOW


def test_the_demo_rules_load_twice_without_change_and_plan_the_coming_visits(practice, frozen):
    first = load_demo(date(2026, 3, 2))
    second = load_demo(date(2026, 3, 2))
    assert [r.pk for r in first] == [r.pk for r in second]
    assert sorted((r.name, r.offset_text) for r in ReminderRule.objects.all()) == [
        ("Email 3 days before", "3 days before"), ("SMS 2 hours before", "2 hours before")]
    assert ReminderMessage.objects.filter(status="pending").count() == 2
    frozen.moment = NOW + timedelta(days=4)  # Friday 8:00: both are due
    assert services.send_due_reminders().counts == {"delivered": 2}  # kept in the local outbox by default
    assert sorted(LocalOutboxMessage.objects.values_list("channel", flat=True)) == ["email", "sms"]
