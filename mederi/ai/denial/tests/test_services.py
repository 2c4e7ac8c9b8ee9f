"""Training from the posted 835s and scoring a claim: what is stored, what the biller reads, what is refused."""

from __future__ import annotations

import pytest

from mederi.ai.denial import history, services
from mederi.ai.denial.models import DenialModel, RiskScore
from mederi.ai.denial.tests.conftest import SYSTEM, TODAY, acme_pattern, open_claim, record
from mederi.audit.models import AuditEntry
from mederi.billing.tests.conftest import context_of, system_repository
from mederi.conftest import record_row_counts
from mederi.core.errors import Forbidden, InvalidRequest

RISKY = [("99214", ("25",), "M17.11"), ("20610", ("RT",), "M17.11")]


def test_the_history_is_read_from_the_posted_answers(clinic):
    assert record(acme_pattern(8)) == 8
    start, end = TODAY.replace(year=TODAY.year - 1), TODAY
    outcomes, names = history.load(system_repository(), start, end)
    assert names == {"payer-acme": "Acme Health Plan"}
    assert len(outcomes) == 12  # 4 one-line claims, 4 two-line claims
    denied = [o for o in outcomes if o.denied]
    assert [(o.facts.code, o.facts.modifiers, o.carc) for o in denied] == [("99214", ("25",), "97")] * 2
    assert {o.facts.payer for o in outcomes} == {"payer-acme"}


def test_training_finds_the_planted_pattern_and_scores_a_new_claim_with_it(clinic):
    record(acme_pattern())
    model = services.train_model(SYSTEM, today=TODAY)
    assert (model.version, model.claims, model.lines) == (1, 40, 60)
    assert model.window_end > TODAY > model.window_start
    risky = services.score_claim(SYSTEM, open_claim(RISKY))
    plain = services.score_claim(SYSTEM, open_claim([("99213", (), "I10")], number="C000000902"))
    assert risky.probability > 0.3 and risky.probability > 2 * plain.probability
    assert risky.model_version == 1
    assert any(r["text"].startswith("Acme Health Plan denied 50% of 99214 with modifier 25 (10 of 20 lines")
               and "CARC 97" in r["text"] for r in risky.reasons)


def test_a_score_is_a_draft_risk_assessment_with_its_provenance_and_is_audited(clinic):
    record(acme_pattern())
    services.train_model(SYSTEM, today=TODAY)
    claim_id = open_claim(RISKY)
    biller = context_of("bea", "biller")
    row = services.score_claim(biller, claim_id)
    repository = system_repository()
    assessment = repository.read("RiskAssessment", row.risk_assessment_id).as_dict()
    assert assessment["status"] == "preliminary"
    assert assessment["basis"] == [{"reference": f"Claim/{claim_id}/_history/1"}]
    assert float(assessment["prediction"][0]["probabilityDecimal"]) == pytest.approx(row.probability, abs=1e-4)
    assert "Acme Health Plan denied" in assessment["prediction"][0]["rationale"]
    provenance = repository.read("Provenance", row.provenance_id).as_dict()
    assert provenance["target"] == [{"reference": f"RiskAssessment/{row.risk_assessment_id}"}]
    assert "mederi-denial-risk" in provenance["agent"][0]["who"]["display"]
    assert "version 1" in provenance["agent"][0]["who"]["display"]
    assert provenance["entity"][0]["what"] == {"reference": f"Claim/{claim_id}/_history/1"}
    entry = AuditEntry.objects.filter(action="ai-risk").get()
    assert entry.patient_id == "pat-jane" and entry.actor_name == "bea"
    assert services.score_claim(biller, claim_id).pk == row.pk  # the same version and model: scored once


def test_retraining_makes_a_new_version_and_the_claim_is_scored_again(clinic):
    record(acme_pattern())
    first = services.train_model(SYSTEM, today=TODAY)
    claim_id = open_claim(RISKY)
    before = services.score_claim(SYSTEM, claim_id)
    second = services.train_model(SYSTEM, today=TODAY)
    after = services.score_claim(SYSTEM, claim_id)
    assert (first.version, second.version) == (1, 2)
    assert (before.model_version, after.model_version) == (1, 2) and after.pk != before.pk
    assert AuditEntry.objects.filter(action="ai-train").count() == 2


def test_a_claim_unlike_the_history_gets_the_rules_only_score(clinic):
    record(acme_pattern())
    services.train_model(SYSTEM, today=TODAY)
    row = services.score_claim(SYSTEM, open_claim([("93000", (), "R07.9")], payer="payer-medicare"))
    assert row.probability == pytest.approx(row.rules_probability, abs=1e-9)
    assert "The history has no claim like this one" in row.reasons[-1]["text"]


def test_without_any_model_the_claim_gets_the_rules_alone(clinic):
    row = services.score_claim(SYSTEM, open_claim(RISKY))
    assert row.model_version == 0 and row.probability == row.rules_probability
    assert "No remittance history has been learned yet" in row.reasons[-1]["text"]


def test_training_without_history_is_refused_and_stores_nothing(clinic):
    before = record_row_counts()
    with pytest.raises(InvalidRequest, match="No remittance history with dates of service from"):
        services.train_model(SYSTEM, today=TODAY)
    assert not DenialModel.objects.exists() and record_row_counts() == before


def test_a_claim_that_does_not_exist_is_refused_clearly(clinic):
    with pytest.raises(InvalidRequest, match="There is no claim nowhere-123 to score"):
        services.score_claim(SYSTEM, "nowhere-123")
    assert not RiskScore.objects.exists()


def test_bad_windows_and_missing_permissions_are_refused(clinic):
    with pytest.raises(InvalidRequest, match="1 to 60 months"):
        services.train_model(SYSTEM, months=0)
    with pytest.raises(Forbidden):
        services.train_model(context_of("fran", "front_desk"))
    with pytest.raises(Forbidden):
        services.score_claim(context_of("fred", "front_desk"), open_claim(RISKY))


def test_open_claims_are_scored_by_the_job_and_sent_ones_are_not(clinic):
    record(acme_pattern(6))
    waiting = open_claim(RISKY)
    assert services.score_open_claims(SYSTEM) == 1  # the answered history claims are not open
    assert list(RiskScore.objects.values_list("claim_id", flat=True)) == [waiting]
    assert services.score_open_claims(SYSTEM) == 0
