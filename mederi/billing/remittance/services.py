"""Writes of remittance besides posting: closing a work-queue item with what was done about it."""

from __future__ import annotations

from django.db import transaction

from mederi.audit import services as audit
from mederi.billing.ledger.services import require_posting
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest

from .models import ClaimAcknowledgement, WorkItem
from .posting import post_remittance  # noqa: F401 - post_remittance is the other write

__all__ = ["post_remittance", "resolve_rejection", "resolve_work_item"]


def resolve_work_item(context: Context, item_id: int, resolution: str) -> WorkItem:
    """Mark a work-queue item dealt with, saying how (resubmitted, appealed, matched by hand, written off...)."""
    require_posting(context)
    return _mark_resolved(context, WorkItem.objects.filter(pk=item_id), resolution,
                          f"there is no work item {item_id}", "this item", "RemittanceWorkItem")


def resolve_rejection(context: Context, acknowledgement_id: int, resolution: str) -> ClaimAcknowledgement:
    """Take a rejected claim off the rejections queue, saying what was done (fixed and sent again, voided...)."""
    context.require("claims.submit", "your roles do not allow working rejected claims")
    return _mark_resolved(
        context, ClaimAcknowledgement.objects.filter(pk=acknowledgement_id, outcome=ClaimAcknowledgement.REJECTED),
        resolution, f"there is no rejected claim {acknowledgement_id} in the queue", "this rejection",
        "ClaimAcknowledgement")


def _mark_resolved(context: Context, rows, resolution: str, missing: str, what: str, resource_type: str):
    """Close one queue entry (a work item, a rejection) with what was done about it, audited."""
    resolution = (resolution or "").strip()
    if len(resolution) < 5:
        raise InvalidRequest.single("say what was done about it (at least 5 characters)", expression="resolution")
    with transaction.atomic():
        found = rows.select_for_update().first()
        if found is None:
            raise InvalidRequest.single(missing)
        if found.resolved_at is not None:
            raise InvalidRequest.single(f"{what} was already dealt with by {found.resolved_by}")
        found.resolved_at, found.resolution = clock.now(), resolution[:300]
        found.resolved_by = (context.user_name or audit.actor_name(context))[:150]
        found.save(update_fields=["resolved_at", "resolution", "resolved_by"])
        audit.record(context, "update", patient_id=found.patient_id or None, resource_type=resource_type,
                     resource_ids=[str(found.pk)], detail={"resolution": found.resolution})
    return found
