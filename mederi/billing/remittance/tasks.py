"""Background job of remittance: pick up what clearinghouses sent back, every five minutes."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from mederi.billing.remittance.pickup import pick_up


@db_periodic_task(crontab(minute="*/5"))
@lock_task("clearinghouse-pickup")  # one run at a time; a slow SFTP server must not stack runs up
def pick_up_clearinghouse_files() -> str:
    return str(pick_up())
