"""Background jobs of patient billing: statement runs, and the daily charge of payment-plan instalments."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from mederi.core.context import Context


@db_task()
def make_statements_run(run_id: int) -> str:
    """Make a statement run's statements, as the person who started it."""
    from django.contrib.auth import get_user_model

    from mederi.accounts.context import context_for_user

    from .models import StatementRun
    from .statements import make_run

    run = StatementRun.objects.get(pk=run_id)
    user = get_user_model().objects.filter(username=run.started_by).first()
    run = make_run(run_id, context_for_user(user) if user else Context.system("statement run"))
    return f"{run.made} of {run.total} statements made"


# Every hour on the hour (huey's schedule is UTC): instalments due by the practice's today are charged
# on the first run of their day; one already tried today waits for tomorrow.
@db_periodic_task(crontab(minute="5"))
@lock_task("payment-plan-instalments")
def charge_due_instalments() -> str:
    from .plans import charge_due_instalments as charge

    counts = charge(Context.system("payment plans"))
    return f"{counts['paid']} instalments paid, {counts['missed']} missed"
