"""The scribe's offline note drafting engine: a visit transcript in, a draft note and findings out.

    draft_note([("doctor", "what brings you in?"), ("patient", "my knee hurts.")]) -> NoteDraft

The draft is the practice's six template sections, written from the transcript's own sentences (the
patient's in the third person), and structured findings (problems, medications, allergies, vitals,
orders), each pointing at the words it came from. Nothing here touches the chart: a person reviews
the draft and accepts what is right. Runs on the CPU with the code sets shipped in the packages;
nothing is downloaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mederi.ai.scribe import extract, sections
from mederi.ai.scribe.extract import Finding

__all__ = ["EmptyTranscript", "Finding", "NoteDraft", "draft_note", "parse_transcript", "ENGINE", "MODEL",
           "VERSION"]

ENGINE = "mederi-scribe"
MODEL = "extractive-sections"
VERSION = "2"  # 2: summary line and return visit in the plan, the visit's reason as chief complaint
SPEAKERS = {"doctor": "doctor", "dr": "doctor", "clinician": "doctor", "provider": "doctor", "physician": "doctor",
            "patient": "patient", "pt": "patient"}


class EmptyTranscript(ValueError):
    """The transcript holds no words to draft from."""


@dataclass
class NoteDraft:
    sections: dict[str, str]
    findings: list[Finding] = field(default_factory=list)
    engine: str = ENGINE
    model: str = MODEL
    version: str = VERSION

    def text(self) -> str:
        """The whole note with its section headings, as a clinician would read it."""
        return sections.render(self.sections)


def speaker_of(label: str) -> str:
    """"doctor", "patient" or "other" from labels such as "[doctor]", "Doctor:", "patient_guest"."""
    word = re.sub(r"[\[\]:]", "", label or "").strip().lower()
    return SPEAKERS.get(word, "other")


def parse_transcript(text: str) -> list[tuple[str, str]]:
    """Turns from a transcript written one turn a line, each led by its speaker ("[doctor] hi ...").
    A line without a speaker continues the turn before it."""
    turns: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = re.match(r"\s*(\[[^\]]+\]|\w+:)\s*(.*)", line)
        if match:
            turns.append((match.group(1), match.group(2).strip()))
        elif line.strip() and turns:
            turns[-1] = (turns[-1][0], f"{turns[-1][1]} {line.strip()}")
        elif line.strip():
            turns.append(("other", line.strip()))
    return turns


def draft_note(turns: list[tuple[str, str]]) -> NoteDraft:
    """A draft note from the visit's turns, in the order spoken."""
    normalised = [(speaker_of(speaker), text or "") for speaker, text in turns]
    if not any(re.search(r"\w", text) for _, text in normalised):
        raise EmptyTranscript("The transcript is empty: there are no words to draft a note from. "
                              "Record or upload the visit again, or type the note yourself.")
    units = extract.sentences(normalised)
    findings = extract.find(normalised, units)
    return NoteDraft(sections.build(units, findings, normalised), findings)
