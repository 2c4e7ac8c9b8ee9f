"""Demo reminders: an email three days and a text two hours before every appointment.

The demo sends nothing off the machine: with MEDERI_SMS_PROVIDER and MEDERI_EMAIL_PROVIDER left at
their default, "standin-inprocess", messages are kept in the local outbox
(/schedule/reminders/outbox/), where the front desk can read them and answer as the patient.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.models import DAYS, EMAIL, HOURS, SMS, ReminderRule
from mederi.scheduling.reminders.templating import DEFAULT_TEMPLATES

DEMO_RULES = [  # name, channel, amount, unit
    ("Email 3 days before", EMAIL, 3, DAYS),
    ("SMS 2 hours before", SMS, 2, HOURS),
]
DEMO_DAYS = 14  # appointments of the demo's first two weeks get their reminders planned


def load_demo(today: date) -> list[ReminderRule]:
    """Create the demo rules (again: no change) and plan reminders for the demo's coming appointments."""
    rules = []
    for name, channel, amount, unit in DEMO_RULES:
        rule, _ = ReminderRule.objects.update_or_create(
            name=name, defaults={"channel": channel, "offset_amount": amount, "offset_unit": unit,
                                 "appointment_type": "", "template": DEFAULT_TEMPLATES[channel], "active": True})
        rules.append(rule)
    services.sweep_upcoming(days=DEMO_DAYS, start=datetime.combine(today, time(0, 0), timezone.utc))
    return rules
