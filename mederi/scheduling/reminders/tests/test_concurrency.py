"""Two senders running at the same moment (two workers, or a worker and "Send reminder now") send
each due message exactly once."""

from __future__ import annotations

import threading

from django.db import connections

from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.models import LocalOutboxMessage, ReminderMessage

from .conftest import database_threads_can_share, make_appointment, make_patient, make_practice, make_rule

APPOINTMENTS = 12


def test_two_senders_at_once_send_every_message_exactly_once(transactional_db, frozen, settings, tmp_path):
    settings.MEDERI_SMS_PROVIDER = "standin-inprocess"
    with database_threads_can_share(tmp_path):
        _two_senders_at_once(frozen)


def _two_senders_at_once(frozen):
    make_practice()
    make_rule("SMS 2 hours before", channel="sms", amount=2, unit="hours")
    make_rule("SMS 1 day before", channel="sms", amount=1, unit="days")
    for index in range(APPOINTMENTS):
        make_patient(f"pat-{index}", mobile=f"+1555123{index:04d}")
        make_appointment(f"appt-{index}", patient_id=f"pat-{index}")
        services.schedule_reminders(f"appt-{index}")
    assert ReminderMessage.objects.filter(status="pending").count() == 2 * APPOINTMENTS
    frozen.advance(days=4)  # past every due time, before every appointment

    start = threading.Barrier(2)
    errors: list[BaseException] = []
    claimed: dict[str, dict] = {}

    def sender(name: str) -> None:
        try:
            start.wait()
            claimed[name] = services.send_due_reminders().counts
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender, args=(name,)) for name in ("worker-1", "worker-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sent = LocalOutboxMessage.objects.filter(direction="out")
    assert sent.count() == 2 * APPOINTMENTS  # one text per message, none twice
    assert sorted(sent.values_list("to", flat=True)) == sorted(
        f"+1555123{index:04d}" for index in range(APPOINTMENTS) for _ in range(2))
    assert ReminderMessage.objects.exclude(status="delivered").count() == 0
    assert sum(sum(counts.values()) for counts in claimed.values()) == 2 * APPOINTMENTS
    assert set(ReminderMessage.objects.values_list("attempts", flat=True)) == {1}
