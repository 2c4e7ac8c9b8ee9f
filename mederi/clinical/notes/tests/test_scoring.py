"""PHQ-9 and GAD-7 scoring inside the mental-health intake template, against worked cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.clinical.notes import catalogue, scoring

SCORES = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}


def intake() -> dict:
    return next(r for r in catalogue.shipped_resources() if r["url"].endswith("mental-health-intake"))


def answers(prefix: str, item_scores: list[int]) -> dict[str, list[dict]]:
    """Answers as the form gives them: the template's own answerOption Coding of each score."""
    group = next(g for g in scoring._groups(intake()["item"]) if g["linkId"] == prefix)
    found = {}
    for question, score in zip((i for i in group["item"] if i["type"] == "choice"), item_scores):
        option = next(o for o in question["answerOption"] if o["valueCoding"]["code"] == SCORES[score])
        found[question["linkId"]] = [option]
    return found


def score_of(prefix: str, item_scores: list[int]) -> scoring.Score | None:
    found = [s for s in scoring.score_groups(intake()["item"], answers(prefix, item_scores))
             if s.group_link_id == prefix]
    return found[0] if found else None


@pytest.mark.parametrize(("item_scores", "total", "band"), [
    ([0] * 9, 0, "Minimal"),
    ([1, 1, 0, 1, 0, 0, 1, 0, 0], 4, "Minimal"),
    ([1] * 9, 9, "Mild"),
    ([2, 2, 1, 1, 1, 1, 1, 1, 0], 10, "Moderate"),
    ([3, 3, 2, 2, 2, 1, 1, 1, 0], 15, "Moderately severe"),
    ([3, 3, 3, 3, 2, 2, 2, 1, 1], 20, "Severe"),
    ([3] * 9, 27, "Severe"),
])
def test_phq9_worked_cases(item_scores, total, band):
    score = score_of("phq9", item_scores)
    assert (score.total, score.severity) == (total, band)
    assert score.instrument.total_code == "44261-6"


@pytest.mark.parametrize(("item_scores", "total", "band"), [
    ([0] * 7, 0, "Minimal"), ([1, 1, 1, 1, 0, 0, 0], 4, "Minimal"), ([1, 1, 1, 1, 1, 0, 0], 5, "Mild"),
    ([2, 2, 2, 1, 1, 1, 1], 10, "Moderate"), ([3, 2, 2, 2, 2, 2, 2], 15, "Severe"), ([3] * 7, 21, "Severe"),
])
def test_gad7_worked_cases(item_scores, total, band):
    score = score_of("gad7", item_scores)
    assert (score.total, score.severity) == (total, band)
    assert score.instrument.total_code == "70274-6"


def band_by_hand(total: int, cut_offs: list[tuple[int, str]]) -> str:
    return [name for lowest, name in cut_offs if total >= lowest][-1]


@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_phq9_total_is_the_sum_in_its_band(item_scores):
    score = score_of("phq9", item_scores)
    assert score.total == sum(item_scores)
    assert score.severity == band_by_hand(score.total, [(0, "Minimal"), (5, "Mild"), (10, "Moderate"),
                                                        (15, "Moderately severe"), (20, "Severe")])


@given(st.lists(st.integers(0, 3), min_size=7, max_size=7))
def test_gad7_total_is_the_sum_in_its_band(item_scores):
    score = score_of("gad7", item_scores)
    assert score.total == sum(item_scores)
    assert score.severity == band_by_hand(score.total, [(0, "Minimal"), (5, "Mild"), (10, "Moderate"),
                                                        (15, "Severe")])


@given(st.lists(st.integers(0, 3), min_size=1, max_size=8))
def test_an_unfinished_phq9_has_no_total(item_scores):
    assert score_of("phq9", item_scores) is None


def test_the_intake_uses_the_official_loinc_codes():
    groups = {g["linkId"]: g for g in scoring._groups(intake()["item"])}
    assert groups["phq9"]["code"][0]["code"] == "44249-1"
    assert groups["gad7"]["code"][0]["code"] == "69737-5"
    assert [i["code"][0]["code"] for i in groups["phq9"]["item"][:9]] == [
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
