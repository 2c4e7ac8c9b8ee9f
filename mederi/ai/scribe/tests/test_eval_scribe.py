"""The ACI-Bench evaluation script: how it scores and what its retrieval baseline may pick."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[4] / "benchmarks" / "eval_scribe.py"


@pytest.fixture(scope="module")
def evaluation():
    spec = importlib.util.spec_from_file_location("eval_scribe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scores_are_the_mean_of_each_notes_f1(evaluation):
    # one perfect note and one sharing no word: the mean is 50, not a pooled figure
    result = evaluation.scores(["knee pain for two weeks", "apple"], ["knee pain for two weeks", "orange"])
    assert result == {"rouge1": 50.0, "rouge2": 50.0, "rougeL": 50.0}


def test_stemming_is_on(evaluation):
    assert evaluation.scores(["she reported swelling"], ["she reports swelled"])["rouge1"] == 100.0


def test_retrieval_never_returns_the_visit_itself(evaluation):
    train = [{"encounter_id": "A", "dialogue": "[doctor] knee pain right knee", "note": "note A"},
             {"encounter_id": "B", "dialogue": "[doctor] knee pain", "note": "note B"},
             {"encounter_id": "C", "dialogue": "[doctor] cough and fever", "note": "note C"}]
    picked = evaluation.retrieval_notes(train, train)
    assert picked[:2] == ["note B", "note A"] and picked[2] != "note C"
