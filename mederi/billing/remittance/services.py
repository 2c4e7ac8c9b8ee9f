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
    resolution = (resolution or "").strip()
    if len(resolution) < 5:
        raise InvalidRequest.single("say what was done about it (at least 5 characters)", expression="resolution")
    with transaction.atomic():
        item = WorkItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None:
            raise InvalidRequest.single(f"there is no work item {item_id}")
        if item.resolved_at is not None:
            raise InvalidRequest.single(f"this item was already dealt with by {item.resolved_by}")
        item.resolved_at, item.resolution = clock.now(), resolution[:300]
        item.resolved_by = (context.user_name or audit.actor_name(context))[:150]
        item.save(update_fields=["resolved_at", "resolution", "resolved_by"])
        audit.record(context, "update", patient_id=item.patient_id or None, resource_type="RemittanceWorkItem",
                     resource_ids=[str(item.pk)], detail={"resolution": item.resolution})
    return item


def resolve_rejection(context: Context, acknowledgement_id: int, resolution: str) -> ClaimAcknowledgement:
    """Take a rejected claim off the rejections queue, saying what was done (fixed and sent again, voided...)."""
    context.require("claims.submit", "your roles do not allow working rejected claims")
    resolution = (resolution or "").strip()
    if len(resolution) < 5:
        raise InvalidRequest.single("say what was done about it (at least 5 characters)", expression="resolution")
    with transaction.atomic():
        found = ClaimAcknowledgement.objects.select_for_update().filter(
            pk=acknowledgement_id, outcome=ClaimAcknowledgement.REJECTED).first()
        if found is None:
            raise InvalidRequest.single(f"there is no rejected claim {acknowledgement_id} in the queue")
        if found.resolved_at is not None:
            raise InvalidRequest.single(f"this rejection was already dealt with by {found.resolved_by}")
        found.resolved_at, found.resolution = clock.now(), resolution[:300]
        found.resolved_by = (context.user_name or audit.actor_name(context))[:150]
        found.save(update_fields=["resolved_at", "resolution", "resolved_by"])
        audit.record(context, "update", patient_id=found.patient_id or None, resource_type="ClaimAcknowledgement",
                     resource_ids=[str(found.pk)], detail={"resolution": found.resolution})
    return found
