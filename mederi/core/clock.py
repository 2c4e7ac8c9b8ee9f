"""One place to ask for the time, so tests can reason about it."""

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def fhir_instant(moment: datetime) -> str:
    """FHIR `instant`: UTC with milliseconds, e.g. 2026-11-30T12:00:00.123Z."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
