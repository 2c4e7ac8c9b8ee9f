"""The held-out test set: its shape, every message end to end, and the accuracy recorded in docs/performance.md
being the accuracy the agent achieves now."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from mederi.ai.agent import classifier, evaluation

PERFORMANCE = Path(__file__).resolve().parents[4] / "docs" / "performance.md"


def test_the_set_is_large_varied_and_apart_from_the_training_messages():
    messages = evaluation.load_testset()
    assert len(messages) >= 100
    assert set(Counter(m["intent"] for m in messages)) == set(classifier.INTENTS) | {"other_language", "unknown"}
    assert {m["channel"] for m in messages} == {"sms", "email", "portal", "voice"}
    training = {e["message"].strip().lower() for e in classifier.training_examples()}
    assert not [m["message"] for m in messages if m["message"].strip().lower() in training]


_RUN: dict = {}  # one end-to-end run of the set serves the three tests below


@pytest.fixture
def result(db, frozen):
    if "result" not in _RUN:
        evaluation.make_practice()
        _RUN["result"] = evaluation.run()
    return _RUN["result"]


def test_every_kind_of_outcome_is_reached_end_to_end(result):
    reached = {r["expected_outcome"] for r in result.rows if r["outcome"] == r["expected_outcome"]}
    assert reached == {m["outcome"] for m in evaluation.load_testset()}


def test_a_message_understood_right_always_gets_the_expected_outcome(result):
    assert [r["message"] for r in result.rows
            if r["intent"] == r["expected_intent"] and r["outcome"] != r["expected_outcome"]] == []


def test_the_recorded_accuracy_is_what_the_agent_achieves(result):
    recorded = re.search(r"front-desk agent, held-out test set: (\d+) messages, intent accuracy ([\d.]+), "
                         r"outcome accuracy ([\d.]+)", PERFORMANCE.read_text(encoding="utf-8"))
    assert recorded, "docs/performance.md records the agent's accuracy"
    assert int(recorded.group(1)) == len(result.rows)
    assert float(recorded.group(2)) == round(result.intent_accuracy, 3)
    assert float(recorded.group(3)) == round(result.outcome_accuracy, 3)
