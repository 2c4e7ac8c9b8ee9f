"""Batch submission as a job: `start_run` records which claims to send and queues `send_run`, which
sends them one 837P per payer (at most `CLAIMS_PER_FILE` claims a file) through `submit_claims`,
counting progress file by file so the claims page can show it. A claim that cannot go (not
scrubbed) is noted and skipped; the others still go. A run that is finished is never sent again."""

from __future__ import annotations

from django.db import transaction

from mederi.billing import claim_status
from mederi.billing.claims.claims import ClaimError
from mederi.billing.claims.submit import _payer_of, require_submitting, submit_claims
from mederi.billing.claims.tables import SubmissionRun
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, MederiError
from mederi.fhir.repository import Repository

CLAIMS_PER_FILE = 100  # one 837P per payer and hundred claims: progress moves file by file


def start_run(context: Context, claim_ids: list[str]) -> SubmissionRun:
    require_submitting(context)
    wanted = list(dict.fromkeys(c for c in claim_ids if c))
    if not wanted:
        raise InvalidRequest.single("Tick the claims to send first.", expression="claims")
    run = SubmissionRun.objects.create(claim_ids=wanted, total=len(wanted), started_by=context.user_name or "system",
                                       created=clock.now())
    from mederi.billing.tasks import send_claims_run

    transaction.on_commit(lambda: send_claims_run(run.pk))
    return run


def send_run(run_id: int, context: Context) -> SubmissionRun:
    claimed = SubmissionRun.objects.filter(pk=run_id, state=SubmissionRun.QUEUED).update(state=SubmissionRun.RUNNING)
    run = SubmissionRun.objects.get(pk=run_id)
    if not claimed:
        return run  # another worker has it, or it is done
    repository = Repository(context)
    by_payer: dict[str, list[str]] = {}
    for claim_id in run.claim_ids:
        try:
            claim = repository.read("Claim", claim_id).as_dict()
            status = claim_status.status_of(claim)
            if status != claim_status.SCRUBBED:
                raise ClaimError.single(f"claim {claim_status.claim_number(claim)} is "
                                        f"{claim_status.LABELS[status].lower()}: scrub it first")
            by_payer.setdefault(_payer_of(repository, claim), []).append(claim_id)
        except MederiError as error:
            run.problems.append("; ".join(i.diagnostics for i in error.issues))
            run.done += 1
    run.save(update_fields=["done", "problems"])
    for claim_ids in by_payer.values():
        for start in range(0, len(claim_ids), CLAIMS_PER_FILE):
            chunk = claim_ids[start:start + CLAIMS_PER_FILE]
            try:
                submit_claims(context, chunk)
                run.sent += len(chunk)
            except MederiError as error:
                run.problems.append(f"{len(chunk)} claims not sent: " + "; ".join(i.diagnostics for i in error.issues))
            run.done += len(chunk)
            run.save(update_fields=["done", "sent", "problems"])
    run.state, run.finished = SubmissionRun.FINISHED, clock.now()
    run.save()
    return run
