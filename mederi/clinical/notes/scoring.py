"""Scored instruments inside note templates: the PHQ-9 and the GAD-7.

A template holds an instrument as a group coded with its LOINC panel; each question's answer
options carry their item score (0-3) in the `ordinalValue` extension of the Coding, and two
read-only items of the group receive the total and its severity band. Scoring needs every
question answered: a partial total would understate the severity.
"""

from __future__ import annotations

from dataclasses import dataclass

from mederi.core import systems

ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


@dataclass(frozen=True)
class Instrument:
    name: str
    panel_code: str  # LOINC of the group holding the questions
    total_code: str  # LOINC of the total score (the Observation's code)
    total_display: str
    questions: int
    bands: tuple[tuple[int, str], ...]  # (lowest total of the band, its name), ascending

    def severity(self, total: int) -> str:
        name = self.bands[0][1]
        for lowest, band in self.bands:
            if total >= lowest:
                name = band
        return name

    @property
    def highest(self) -> int:
        return 3 * self.questions


PHQ9 = Instrument("PHQ-9", "44249-1", "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
                  9, ((0, "Minimal"), (5, "Mild"), (10, "Moderate"), (15, "Moderately severe"), (20, "Severe")))
GAD7 = Instrument("GAD-7", "69737-5", "70274-6",
                  "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
                  7, ((0, "Minimal"), (5, "Mild"), (10, "Moderate"), (15, "Severe")))
INSTRUMENTS = {i.panel_code: i for i in (PHQ9, GAD7)}


@dataclass(frozen=True)
class Score:
    instrument: Instrument
    group_link_id: str
    total: int
    severity: str

    @property
    def text(self) -> str:
        return f"{self.instrument.name} {self.total}/{self.instrument.highest} ({self.severity.lower()})"


def loinc_code(raw_item: dict) -> str | None:
    for coding in raw_item.get("code") or ():
        if coding.get("system") == systems.LOINC:
            return coding.get("code")
    return None


def option_score(option: dict) -> int | None:
    """The item score of an answerOption (or an answer) coded with an ordinalValue."""
    coding = option.get("valueCoding") or {}
    for extension in coding.get("extension") or ():
        if extension.get("url") == ORDINAL_VALUE and "valueDecimal" in extension:
            return int(extension["valueDecimal"])
    return None


def score_groups(questionnaire_items: list[dict], answers: dict[str, list[dict]]) -> list[Score]:
    """The score of every instrument of a template whose questions are all answered.

    `answers` maps linkIds to FHIR answers (valueCoding as the template's answerOption gives it).
    """
    scores = []
    for group in _groups(questionnaire_items):
        instrument = INSTRUMENTS.get(loinc_code(group) or "")
        if instrument is None:
            continue
        questions = [i for i in group.get("item") or () if i.get("type") == "choice" and not i.get("readOnly")]
        item_scores = []
        for question in questions:
            chosen = answers.get(question["linkId"]) or []
            value = option_score(chosen[0]) if chosen else None
            if value is None:
                break
            item_scores.append(value)
        if len(item_scores) == len(questions) == instrument.questions:
            total = sum(item_scores)
            scores.append(Score(instrument, group["linkId"], total, instrument.severity(total)))
    return scores


def total_items(score: Score) -> dict[str, list[dict]]:
    """The answers of the instrument's read-only total and severity items."""
    return {f"{score.group_link_id}-total": [{"valueInteger": score.total}],
            f"{score.group_link_id}-severity": [{"valueString": score.severity}]}


def _groups(items: list[dict]):
    for item in items:
        if item.get("type") == "group":
            yield item
            yield from _groups(item.get("item") or [])
