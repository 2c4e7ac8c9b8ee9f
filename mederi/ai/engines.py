"""What an AI engine is to the rest of Mederi, and the offline coding engine shipped with it.

An engine names itself (name, model, version: what the Provenance of its output records) and turns
a note's text into suggestions. Other engines (a language-model server, say) implement the same
protocol; nothing else in the app depends on how the suggestions are made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from mederi.ai import coding, em, procedures


@dataclass(frozen=True)
class CodeSuggestion:
    kind: str  # "diagnosis" (ICD-10-CM), "visit-level" (an office E/M code) or "procedure" (CPT/HCPCS)
    code: str
    display: str
    score: float
    start: int | None = None  # evidence span in the text (character offsets)
    end: int | None = None
    reasoning: str = ""


@dataclass
class Suggestions:
    diagnoses: list[CodeSuggestion] = field(default_factory=list)
    visit_level: CodeSuggestion | None = None
    procedures: list[CodeSuggestion] = field(default_factory=list)

    def all(self) -> list[CodeSuggestion]:
        return self.diagnoses + ([self.visit_level] if self.visit_level else []) + self.procedures


class SuggestionEngine(Protocol):
    name: str
    model: str
    version: str

    def suggest(self, text: str, *, new_patient: bool) -> Suggestions: ...


class OfflineCodingEngine:
    """Dictionary matching of ICD-10-CM descriptions and a synonym table, NegEx-style negation, the 2021
    office E/M rules, and procedure codes from a mapping table. Runs on the CPU with no model download."""

    name = "mederi-coding"
    model = "icd10cm-dictionary-negex"
    version = "1"

    def suggest(self, text: str, *, new_patient: bool) -> Suggestions:
        found = coding.suggest_codes(text)
        diagnoses = [CodeSuggestion("diagnosis", m.code, m.display, m.score, m.start, m.end,
                                    f"Found “{text[m.start:m.end]}” ({m.source}).") for m in found]
        level = em.office_visit_level(text, new_patient=new_patient, problems=len(found))
        visit = CodeSuggestion("visit-level", level.code, level.display, 1.0, reasoning=level.reasoning)
        done = [CodeSuggestion("procedure", p.code, p.display, 1.0, p.start, p.end,
                               f"Goes with {p.because_of}, documented as “{text[p.start:p.end]}”." if p.because_of
                               else f"Documented as done: “{text[p.start:p.end]}”.")
                for p in procedures.documented_procedures(text)]
        return Suggestions(diagnoses, visit, done)


def default_engine() -> SuggestionEngine:
    return OfflineCodingEngine()
