"""What the biller sees: the risk on the claim page and in the claims list, the model page, retraining."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.ai.denial import services
from mederi.ai.denial.models import DenialModel, RiskScore
from mederi.ai.denial.tests.conftest import SYSTEM, TODAY, acme_pattern, open_claim, record
from mederi.billing import claim_status
from mederi.billing.tests.conftest import system_repository
from mederi.conftest import staff_user

RISKY = [("99214", ("25",), "M17.11"), ("20610", ("RT",), "M17.11")]


@pytest.fixture
def biller(clinic):
    client = Client()
    client.force_login(staff_user("bea", "biller"))
    return client


def test_the_claim_page_scores_the_claim_and_shows_why(biller):
    record(acme_pattern())
    services.train_model(SYSTEM, today=TODAY)
    claim_id = open_claim(RISKY)
    page = biller.get(f"/billing/claims/{claim_id}/").content.decode()
    assert "Denial risk" in page and "High" in page
    assert "Acme Health Plan denied 50% of 99214 with modifier 25" in page
    assert "It blocks nothing" in page and "model version 1" in page
    assert RiskScore.objects.filter(claim_id=claim_id).count() == 1


def test_the_claims_list_shows_each_risk_and_warns_of_high_risk_claims_ready_to_send(biller):
    record(acme_pattern())
    services.train_model(SYSTEM, today=TODAY)
    risky = open_claim(RISKY)
    repository = system_repository()
    claim = repository.read("Claim", risky).as_dict()
    repository.update("Claim", risky, claim_status.set_status(claim, claim_status.SCRUBBED))
    services.score_claim(SYSTEM, risky)
    open_claim([("99213", (), "I10")], number="C000000902")  # left for the ten-minute job
    page = biller.get("/billing/claims/").content.decode()
    assert "<th>Denial risk</th>" in page
    score = RiskScore.objects.get(claim_id=risky)
    assert f"High {score.percent}%" in page
    assert "High denial risk among the claims ready to send" in page and "C000000901" in page
    assert "not scored yet" in page


def test_the_model_page_shows_the_version_and_retraining_makes_the_next(biller):
    record(acme_pattern())
    page = biller.get("/ai/denial/").content.decode()
    assert "No model yet" in page
    response = biller.post("/ai/denial/retrain/", {"months": "24"}, follow=True)
    assert "Model version 1 learned from 40 claims" in response.content.decode()
    biller.post("/ai/denial/retrain/", {"months": "24"})
    page = biller.get("/ai/denial/").content.decode()
    assert 'id="model-version">2<' in page and "Version 1:" in page


def test_bad_input_on_the_pages_gets_a_clear_message_and_changes_nothing(biller):
    refused = biller.post("/ai/denial/retrain/", {"months": "soon"}, follow=True).content.decode()
    assert "whole number of months" in refused
    empty = biller.post("/ai/denial/retrain/", {"months": "12"}, follow=True).content.decode()
    assert "No remittance history with dates of service" in empty
    missing = biller.post("/ai/denial/claims/no-such-claim/score/", follow=True).content.decode()
    assert "There is no claim no-such-claim to score" in missing
    assert not DenialModel.objects.exists() and not RiskScore.objects.exists()


def test_staff_without_billing_access_cannot_retrain(clinic):
    client = Client()
    client.force_login(staff_user("fran", "front_desk"))
    assert client.post("/ai/denial/retrain/", {"months": "12"}).status_code == 403
    assert not DenialModel.objects.exists()
