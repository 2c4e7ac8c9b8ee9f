"""Background jobs of billing: the nightly eligibility batch and batch claim submission.

The periodic task wakes at the top of every hour (huey's schedule is in UTC) and runs the batch
when it is `MEDERI_ELIGIBILITY_BATCH_HOUR` o'clock (2 by default) on the practice's clock, so the
run stays at 02:00 local time across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from mederi.billing import practice
from mederi.billing.batch import BatchReport, check_tomorrow
from mederi.core.context import Context


def batch_hour() -> int:
    return int(getattr(settings, "MEDERI_ELIGIBILITY_BATCH_HOUR", 2))


def run_if_due(now: dt.datetime | None = None) -> BatchReport | None:
    """Run the batch when `now` (the practice's time) is in the batch hour; None otherwise."""
    now = now or practice.now()
    if now.hour != batch_hour():
        return None
    return check_tomorrow(now.date())


@db_periodic_task(crontab(minute="0"))
def nightly_eligibility() -> str | None:
    report = run_if_due()
    return str(report) if report else None


@db_task()
def send_claims_run(run_id: int) -> str:
    """Send the claims of a batch submission started on the claims page, as the person who started it."""
    from django.contrib.auth import get_user_model

    from mederi.accounts.context import context_for_user
    from mederi.billing.claims.runs import send_run
    from mederi.billing.claims.tables import SubmissionRun

    run = SubmissionRun.objects.get(pk=run_id)
    user = get_user_model().objects.filter(username=run.started_by).first()
    context = context_for_user(user) if user else Context.system("claims batch")
    run = send_run(run_id, context)
    return f"{run.sent} of {run.total} claims sent"
