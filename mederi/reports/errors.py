"""Errors of the reports, each naming the filter it is about so a page can show it at that field."""

from __future__ import annotations

from mederi.core.errors import Issue, MederiError


class ReportError(MederiError):
    """A report was asked for with filters it cannot use (a period that ends before it starts, an
    unknown provider, ...); the `expression` of the issue names the filter: date_from, date_to,
    location or provider."""

    @classmethod
    def at(cls, field: str | None, message: str, *, status: int = 400):
        return cls(issues=[Issue(message, code="invalid", expression=field)], status=status)
