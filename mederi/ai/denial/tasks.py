"""Jobs of denial risk: the model is retrained every night on the last 12 months of answers, and the claims not
yet with a payer are scored every ten minutes (a claim page scores its claim at once when it is shown)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from mederi.core.context import Context
from mederi.core.errors import InvalidRequest

from . import services


@db_periodic_task(crontab(hour="4", minute="30"))
def retrain_denial_model() -> str:
    try:
        row = services.train_model(Context.system("denial-risk training"))
    except InvalidRequest as error:
        return error.issues[0].diagnostics
    return f"denial-risk model {row.version}: {row.claims} claims, {row.lines} lines"


@db_periodic_task(crontab(minute="*/10"))
def score_open_claims() -> str:
    return f"{services.score_open_claims(Context.system('denial-risk scoring'))} claims scored"
