"""Reads of the AI app: the latest suggestion run of a note, with its drafts and decisions."""

from __future__ import annotations

from mederi.ai.models import Suggestion


def latest_suggestions(composition_id: str) -> list[Suggestion]:
    """The suggestions of the note's most recent run (an earlier run's drafts are superseded by a rerun)."""
    last = Suggestion.objects.filter(composition_id=composition_id).order_by("-id").first()
    if last is None:
        return []
    return list(Suggestion.objects.filter(run_id=last.run_id).order_by("rank"))


def accepted_codes(encounter_id: str, kind: str) -> list[str]:
    """Codes a person accepted for a visit (the charge screen can offer them)."""
    rows = Suggestion.objects.filter(encounter_id=encounter_id, kind=kind, status=Suggestion.ACCEPTED)
    return list(dict.fromkeys(rows.order_by("rank").values_list("code", flat=True)))
