"""The optional language-model engine against the stand-in server (a real socket, the real JSON shape):
it is asked, its answer is used, and on every kind of failure the offline engine answers instead."""

from __future__ import annotations

import pytest

from mederi.ai import llm
from mederi.ai.agent import services
from mederi.ai.agent.engines import OfflineIntentEngine, default_engine
from mederi.ai.agent.models import Turn
from mederi.ai.agent.tests.conftest import PATIENT, read
from mederi.ai.llm_standin import WORDING_PREFIX, LlmStandIn


@pytest.fixture
def standin():
    with LlmStandIn({"Could you confirm me for Thursday": ("confirm", 0.93),
                     "Hola, quiero hablar con alguien": ("other_language", 0.99),
                     "hmm not sure": ("confirm", 0.2)}, api_key="sk-local") as server:
        yield server


@pytest.fixture
def configured(settings, standin):
    settings.MEDERI_LLM_URL = standin.base_url
    settings.MEDERI_LLM_MODEL = "standin-chat"
    settings.MEDERI_LLM_API_KEY = "sk-local"
    settings.MEDERI_LLM_TIMEOUT_SECONDS = 0.5
    return standin


def test_without_a_url_the_offline_engine_answers_alone(settings):
    settings.MEDERI_LLM_URL = ""
    assert isinstance(default_engine(), OfflineIntentEngine)


def test_the_configured_server_is_asked_in_the_openai_shape_and_its_intent_and_wording_used(appointment,
                                                                                             configured):
    reply = services.handle_message("portal", "Could you confirm me for Thursday", patient_id=PATIENT)
    assert reply.intent == "confirm" and reply.confidence == 0.93 and reply.outcome == "confirmed"
    assert reply.answer.startswith(WORDING_PREFIX) and "Thu Mar 5 at 9:00 AM" in reply.answer
    classify, wording = configured.requests
    assert classify["model"] == "standin-chat" and classify["authorization"] == "Bearer sk-local"
    assert classify["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in classify["messages"]] == ["system", "user"]
    assert wording["messages"][1]["content"].startswith("Thank you. Your appointment with Dr. Ruiz")
    agent_turn = Turn.objects.get(speaker=Turn.AGENT)
    assert read("Provenance", agent_turn.provenance_id)["agent"][0]["who"]["display"] == (
        "openai-compatible-llm (model standin-chat, version 1)")


def test_a_low_confidence_answer_from_the_server_goes_to_a_person(appointment, configured):
    reply = services.handle_message("sms", "hmm not sure", patient_id=PATIENT)
    assert reply.intent == "unknown" and reply.outcome == "handed-over"


def test_another_language_named_by_the_server_is_handed_over(appointment, configured):
    reply = services.handle_message("sms", "Hola, quiero hablar con alguien", patient_id=PATIENT)
    assert reply.outcome == "handed-over" and "Spanish" in reply.answer + services.Conversation.objects.get(
        ).handover_reason


@pytest.mark.parametrize("how", ["http-500", "not-json", "bad-content", "slow"])
def test_any_failure_of_the_server_falls_back_to_the_offline_engine(appointment, configured, how):
    configured.fail_next(how, times=2, seconds=1.5)
    reply = services.handle_message("sms", "I need a refill of my metformin", patient_id=PATIENT)
    assert reply.intent == "refill" and reply.outcome == "task:refills"
    assert reply.answer.startswith("Thanks. Your refill request")  # the offline wording: the server failed again


def test_a_wording_that_loses_a_date_or_time_is_not_sent(appointment, configured):
    configured.fail_next("drop-facts")
    engine = default_engine()
    answer = "Your appointment with Dr. Ruiz on Thu Mar 5 at 9:00 AM is confirmed."
    assert engine.word(answer, intent="confirm") == answer


def test_a_wrong_key_is_a_failure_like_any_other(appointment, configured, settings):
    settings.MEDERI_LLM_API_KEY = "sk-wrong"
    engine = default_engine()
    assert engine.understand("what are your hours?").intent == "office_hours"  # offline, after the 401
    with pytest.raises(llm.LlmError, match="HTTP 401"):
        engine.client.complete("x", "y")
