"""Test helpers: the audit log as a tamperer with database access would see it."""

from __future__ import annotations

from django.db import connection

from mederi.audit import triggers
from mederi.audit.models import AuditEntry


def sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def without_triggers() -> None:
    """What a malicious administrator does first: drop the append-only triggers."""
    triggers.drop(connection)


def entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("id"))


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def since(mark: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=mark).order_by("id"))
