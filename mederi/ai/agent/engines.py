"""What understands a patient's message and words the answer: the engine protocol of the agent.

The offline engine (rules and naive Bayes, classifier.py) is the default and needs nothing from
outside. A practice with a language-model server sets MEDERI_LLM_URL (see mederi/ai/llm.py); that
engine answers the same two questions and falls back to the offline engine whenever the server
fails, is slow or says something unusable.
"""

from __future__ import annotations

from typing import Protocol

from mederi.ai.agent import classifier
from mederi.ai.agent.classifier import Understanding


class IntentEngine(Protocol):
    name: str
    model: str
    version: str

    def understand(self, text: str) -> Understanding: ...

    def word(self, answer: str, *, intent: str) -> str:
        """The answer to send, in the engine's words; it must keep every fact (dates, times, numbers)."""


class OfflineIntentEngine:
    name = "mederi-frontdesk"
    model = "rules+naive-bayes"
    version = "1"

    def understand(self, text: str) -> Understanding:
        return classifier.understand(text)

    def word(self, answer: str, *, intent: str) -> str:
        return answer


def label(engine: IntentEngine) -> str:
    return f"{engine.name} (model {engine.model}, version {engine.version})"


def default_engine() -> IntentEngine:
    from mederi.ai import llm

    return llm.configured_engine(fallback=OfflineIntentEngine()) or OfflineIntentEngine()
