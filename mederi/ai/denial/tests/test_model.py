"""The denial model on its own: planted patterns are found and explained, a claim nothing like the history gets
the rules-only score, and the scores are calibrated on a later, held-out period."""

from __future__ import annotations

import datetime as dt
import functools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.ai.denial import evaluation, synthetic
from mederi.ai.denial.model import LineFacts, Model, NoHistory, Outcome, train

DAY = dt.date(2026, 3, 2)
START, END = dt.date(2026, 1, 1), dt.date(2027, 1, 1)


def planted_history(seed: int = 3) -> list[Outcome]:
    """Acme denies 99214 with modifier 25 four times in ten (CARC 97); everything else about one in twenty."""
    rng = random.Random(seed)
    history = []
    for n in range(600):
        payer = "acme" if n % 2 else "blue"
        modifiers = ("25",) if n % 3 == 0 else ()
        facts = LineFacts(payer, "99214", modifiers, "I10", "11")
        chance = 0.4 if payer == "acme" and modifiers else 0.05
        denied = rng.random() < chance
        history.append(Outcome(facts, DAY, f"claim-{n}", denied, ("97" if chance > 0.1 else "16") if denied else ""))
    return history


@functools.cache
def planted_model() -> Model:
    return train(planted_history(), start=START, end=END, payer_names={"acme": "Acme Health Plan"})


def test_training_finds_the_planted_pattern_and_says_it_in_words():
    model = planted_model()
    risky = model.score([LineFacts("acme", "99214", ("25",), "I10", "11")])
    plain = model.score([LineFacts("acme", "99214", (), "I10", "11")])
    other = model.score([LineFacts("blue", "99214", ("25",), "I10", "11")])
    assert risky.probability > 0.3 > 0.1 > plain.probability
    assert other.probability < 0.1
    top = risky.reasons[0].text
    assert top.startswith("Acme Health Plan denied") and "of 99214 with modifier 25" in top
    assert "CARC 97: included in another service already paid" in top
    assert "12 months to 01 Jan 2027" in top


def test_a_claim_with_no_history_gets_the_rules_only_score():
    model = planted_model()
    unknown = [LineFacts("never-billed", "93000", (), "R07.9", "11"), LineFacts("never-billed", "36415", ())]
    score = model.score(unknown)
    assert score.probability == pytest.approx(score.rules_probability, abs=1e-12)
    assert not score.from_history and score.reasons == []


@given(st.sampled_from(["99213", "J1030", "G0439"]), st.booleans(), st.booleans(),
       st.lists(st.sampled_from(["25", "59", "RT"]), max_size=2, unique=True))
def test_any_unseen_line_scores_as_the_rules_alone_and_stays_a_probability(code, error, warning, modifiers):
    model = planted_model()
    score = model.score([LineFacts("new-payer", code, tuple(modifiers), "Z00.00", "22", error, warning)])
    assert 0 < score.probability < 1
    assert score.probability == pytest.approx(score.rules_probability, abs=1e-12)


def test_a_scrubber_error_raises_the_risk_and_comes_first_among_the_reasons():
    model = planted_model()
    clean = model.score([LineFacts("blue", "99214", (), "I10", "11")])
    broken = model.score([LineFacts("blue", "99214", (), "I10", "11", rule_error=True)],
                         [("warning", "Scrubber: check the age"), ("error", "Scrubber: add modifier 25")])
    assert broken.probability > 2 * clean.probability
    assert [r.text for r in broken.reasons[:2]] == ["Scrubber: add modifier 25", "Scrubber: check the age"]


def test_the_stored_model_scores_as_the_trained_one():
    model = planted_model()
    again = Model.from_dict(model.as_dict())
    line = [LineFacts("acme", "99214", ("25",), "I10", "11")]
    assert again.score(line).probability == model.score(line).probability


def test_no_history_in_the_window_is_refused_with_a_clear_message():
    with pytest.raises(NoHistory, match="No remittance history with dates of service from 2027-01-01"):
        train(planted_history(), start=dt.date(2027, 1, 1), end=dt.date(2028, 1, 1))


def test_on_a_later_held_out_period_the_scores_are_calibrated_and_beat_the_rules_alone():
    claims = synthetic.generate(dt.date(2025, 1, 1), dt.date(2025, 12, 1), claims_per_day=12, seed=5,
                                policy_change=dt.date(2025, 9, 1))
    history = synthetic.outcomes(claims)
    model = train(history, start=dt.date(2025, 1, 1), end=dt.date(2025, 9, 1))
    scored = evaluation.score_claims(model, [o for o in history if o.day >= dt.date(2025, 9, 1)])
    denied = [s.denied for s in scored]
    combined = [s.probability for s in scored]
    rules = [s.rules_probability for s in scored]
    observed = sum(denied) / len(denied)
    assert abs(sum(combined) / len(combined) - observed) < 0.03  # right on average
    table = evaluation.calibration(denied, combined, bins=5)
    assert table[-1].observed > 2 * table[0].observed  # the riskiest fifth is denied far more often
    assert all(abs(b.predicted - b.observed) < 0.12 for b in table)
    assert evaluation.auc(denied, combined) > evaluation.auc(denied, rules)
    assert evaluation.brier(denied, combined) < evaluation.brier(denied, rules)


def test_auc_and_brier_on_a_known_example():
    assert evaluation.auc([False, True, False, True], [0.1, 0.9, 0.4, 0.4]) == pytest.approx(0.875)
    assert evaluation.brier([True, False], [1.0, 0.5]) == pytest.approx(0.125)
    with pytest.raises(ValueError):
        evaluation.auc([True, True], [0.2, 0.3])
