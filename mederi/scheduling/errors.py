"""Errors of scheduling, each with a message a front desk can act on.

The issue's `expression` names the form field the message belongs to (start, type_code,
patient_id, ...), so a page can show it next to that field.
"""

from __future__ import annotations

from mederi.core.errors import Issue, MederiError


class BookingError(MederiError):
    """A booking or a change that breaks a scheduling rule; nothing was stored."""

    @classmethod
    def at(cls, field: str | None, message: str, *, status: int = 400, code: str = "business-rule"):
        return cls(issues=[Issue(message, code=code, expression=field)], status=status)


class SlotTaken(BookingError):
    """Someone else booked the time first (or it is otherwise occupied)."""

    @classmethod
    def at(cls, field: str | None, message: str, *, status: int = 409, code: str = "conflict"):
        return super().at(field, message, status=status, code=code)


class NotPermitted(MederiError):
    def __init__(self, message: str):
        super().__init__([Issue(message, code="forbidden")], 403)
