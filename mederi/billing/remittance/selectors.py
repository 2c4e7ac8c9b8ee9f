"""Reads of remittance: the files posted, the work queues, and denial rates by payer and by reason."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from . import denials
from .models import InboundFile, PostedClaimPayment, RemittanceFile, WorkItem, _money


def recent_files(limit: int = 50) -> list[RemittanceFile]:
    return list(RemittanceFile.objects.order_by("-posted_at", "-pk")[:limit])


def inbound_files(limit: int = 50) -> list[InboundFile]:
    return list(InboundFile.objects.defer("content").order_by("-received_at", "-pk")[:limit])


def open_rejections() -> list:
    """Claims a 999 or 277CA rejected that nobody has dealt with yet, oldest first."""
    from .models import ClaimAcknowledgement

    return list(ClaimAcknowledgement.objects.filter(outcome=ClaimAcknowledgement.REJECTED, resolved_at__isnull=True)
                .order_by("received_at", "pk"))


def open_items(kinds: list[str]) -> list[WorkItem]:
    return list(WorkItem.objects.filter(kind__in=kinds, resolved_at__isnull=True).select_related("file")
                .order_by("created", "pk"))


@dataclass
class DenialGroup:
    reason_code: str
    description: str
    next_action: str
    items: list[WorkItem]

    @property
    def amount(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal("0.00"))


def denial_groups() -> list[DenialGroup]:
    """Open denials grouped by CARC, the largest amount first."""
    groups: dict[str, DenialGroup] = {}
    for item in open_items([WorkItem.DENIAL]):
        group = groups.get(item.reason_code)
        if group is None:
            group = groups[item.reason_code] = DenialGroup(
                item.reason_code, denials.describe(item.reason_code) if item.reason_code else "No reason given",
                denials.next_action(item.reason_code), [])
        group.items.append(item)
    return sorted(groups.values(), key=lambda g: (-g.amount, g.reason_code))


@dataclass
class Rate:
    label: str
    claims: int
    denied: int
    denied_amount: Decimal

    @property
    def rate(self) -> Decimal | None:
        return (Decimal(100 * self.denied) / self.claims).quantize(Decimal("0.1")) if self.claims else None


def denial_rate_by_payer() -> list[Rate]:
    """Claims answered per payer (reversals left out) and how many were denied outright."""
    rows = (PostedClaimPayment.objects.exclude(status_code="22").values("file__payer_name")
            .annotate(claims=Count("pk"), denied=Count("pk", filter=Q(paid_cents=0, charge_cents__gt=0)),
                      denied_cents=Sum("charge_cents", filter=Q(paid_cents=0, charge_cents__gt=0)))
            .order_by("file__payer_name"))
    return [Rate(row["file__payer_name"] or "unknown payer", row["claims"], row["denied"],
                 _money(row["denied_cents"])) for row in rows]


def denial_rate_by_reason() -> list[Rate]:
    """Denials (of claims and of lines) by CARC, against every claim answered."""
    answered = PostedClaimPayment.objects.exclude(status_code="22").count()
    rows = (WorkItem.objects.filter(kind=WorkItem.DENIAL).values("reason_code")
            .annotate(denied=Count("pk"), cents=Sum("amount_cents")).order_by("-denied", "reason_code"))
    return [Rate(f"{row['reason_code'] or '—'} {denials.describe(row['reason_code'])}".strip(), answered,
                 row["denied"], _money(row["cents"])) for row in rows]
