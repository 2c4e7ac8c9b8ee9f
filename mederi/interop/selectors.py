"""Reads of the interfaces' operational tables: lab connections, orders sent, refused messages."""

from __future__ import annotations

from mederi.interop.models import DeadLetter, LabConnection, OutboundOrder


def lab_connections() -> list[LabConnection]:
    return list(LabConnection.objects.all())


def active_labs() -> list[LabConnection]:
    return list(LabConnection.objects.filter(active=True))


def recent_orders(limit: int = 100) -> list[OutboundOrder]:
    return list(OutboundOrder.objects.select_related("lab")[:limit])


def dead_letters(state: str = DeadLetter.NEW, limit: int = 200) -> list[DeadLetter]:
    return list(DeadLetter.objects.filter(state=state)[:limit])


def dead_letter(letter_id: int) -> DeadLetter | None:
    return DeadLetter.objects.select_related("resolved_by").filter(pk=letter_id).first()
