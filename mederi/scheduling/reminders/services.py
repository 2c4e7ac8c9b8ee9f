"""Writes of the reminders app, in one place for callers: planning messages (`planning`), sending
them (`sending`), and acting on what comes back (`incoming`).

Appointments, patients and Communications are read and written through the repository, as the
server itself acting for reminders (`Context.system("reminders")`).
"""

from mederi.scheduling.reminders.appointments import (
    REMINDABLE,
    AppointmentInfo,
    appointment_facts,
    appointment_info,
    reminders_repository,
    zone_of,
)
from mederi.scheduling.reminders.incoming import ReplyOutcome, receive_reply, record_delivery_status
from mederi.scheduling.reminders.planning import (
    check_rule,
    save_rule,
    schedule_reminders,
    set_rule_active,
    sweep_upcoming,
)
from mederi.scheduling.reminders.sending import (
    SendSummary,
    claim,
    deliver_claimed,
    max_attempts,
    retry_delay,
    send_due_reminders,
    send_now,
    send_one,
)

__all__ = [
    "REMINDABLE", "AppointmentInfo", "appointment_facts", "appointment_info", "reminders_repository", "zone_of",
    "ReplyOutcome", "receive_reply", "record_delivery_status",
    "check_rule", "save_rule", "schedule_reminders", "set_rule_active", "sweep_upcoming",
    "SendSummary", "claim", "deliver_claimed", "max_attempts", "retry_delay", "send_due_reminders", "send_now", "send_one",
]
