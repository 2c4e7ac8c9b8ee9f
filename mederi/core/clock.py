"""One place to ask for the time, so tests can reason about it."""

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def fhir_instant(moment: datetime) -> str:
    """FHIR `instant`: UTC with milliseconds, e.g. 2026-11-30T12:00:00.123Z."""
    # isoformat, not strftime: every write stamps one, and strftime cost nearly twice as much
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
