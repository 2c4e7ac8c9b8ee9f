"""Background jobs of reminders (huey; `mederi worker` runs them).

- every minute: send the messages that are due (`send_due_reminders`);
- every night: plan reminders for the coming days' appointments, including those booked by
  outside FHIR clients that never called `schedule_reminders` (`sweep_upcoming_appointments`);
- on demand: send one message ("Send reminder now"), plan one appointment, re-plan after a rule changed.

Jobs take ids and are idempotent: a message is claimed before it is sent, so running a job twice
(or on two workers) never sends a message twice.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from mederi.scheduling.reminders import services


@db_periodic_task(crontab(minute="*"))
def send_due_reminders() -> dict:
    return services.send_due_reminders().counts


@db_periodic_task(crontab(hour="2", minute="15"))
def sweep_upcoming_appointments() -> int:
    return services.sweep_upcoming()


@db_task()
def sweep_upcoming_appointments_now() -> int:
    return services.sweep_upcoming()


@db_task()
def send_reminder(message_id: int) -> str:
    return services.send_one(message_id)


@db_task()
def schedule_reminders_later(appointment_id: str) -> int:
    """`services.schedule_reminders` as a job, for callers that would rather not wait for it."""
    return len(services.schedule_reminders(appointment_id))
