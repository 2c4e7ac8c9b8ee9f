"""Background jobs of e-prescribing: send one message; every minute, retry the ones that are due."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from mederi.clinical.prescribing import delivery


@db_task()
def send_erx_message(message_pk: int) -> str:
    return delivery.deliver(message_pk)


@db_periodic_task(crontab(minute="*"))
def retry_erx_messages() -> int:
    return delivery.retry_due()
