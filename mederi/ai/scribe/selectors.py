"""Reads of the scribe: a visit's recordings and a draft's transcript with its parts, for the pages.

Patient data read here is audited by the views that show it (one entry per page shown)."""

from __future__ import annotations

from dataclasses import dataclass

from mederi.ai.scribe.models import DraftPart, Recording


def recordings_of(encounter_id: str) -> list[Recording]:
    return list(Recording.objects.filter(encounter_id=encounter_id)[:20])


def recording(recording_id: int) -> Recording | None:
    return Recording.objects.filter(pk=recording_id).first()


@dataclass
class ShownTurn:
    index: int
    speaker: str
    text: str
    start: float
    end: float


@dataclass
class ShownFinding:
    part: DraftPart
    quote: str  # the words of the transcript the finding came from


def turns_of(recording: Recording) -> list[ShownTurn]:
    return [ShownTurn(i, t["speaker"], t["text"], t["start"], t["end"]) for i, t in enumerate(recording.turns)]


def sections_of(recording: Recording) -> list[DraftPart]:
    return list(recording.parts.filter(kind=DraftPart.SECTION))


def findings_of(recording: Recording) -> list[ShownFinding]:
    shown = []
    for part in recording.parts.exclude(kind=DraftPart.SECTION):
        text = recording.turns[part.turn]["text"] if part.turn is not None and part.turn < len(recording.turns) else ""
        shown.append(ShownFinding(part, text[part.start:part.end] if part.start is not None else ""))
    return shown
