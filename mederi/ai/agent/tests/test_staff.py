"""Staff see every conversation, take one over, answer (sent by the patient's channel), give it back."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.accounts.context import context_for_user
from mederi.ai.agent import services
from mederi.ai.agent.models import Conversation, Turn
from mederi.ai.agent.tests.conftest import MOBILE, PATIENT, read
from mederi.audit.models import AuditEntry
from mederi.conftest import record_row_counts, staff_user
from mederi.core.errors import Forbidden
from mederi.scheduling.reminders.models import LocalOutboxMessage


@pytest.fixture
def fran(appointment):
    return staff_user("fran", "front_desk")


@pytest.fixture
def browser(fran):
    client = Client()
    client.force_login(fran)
    return client


def test_the_screen_lists_conversations_needing_a_person_first_with_the_queues(browser, appointment):
    services.handle_message("sms", "what are your hours?", patient_id=PATIENT)
    services.handle_message("portal", "I want to speak to a real person", patient_id=PATIENT)
    services.handle_message("email", "I need a refill of my inhaler", patient_id=PATIENT)
    page = browser.get("/ai/agent/").content.decode()
    assert page.index("Needs a person") < page.index("Open")
    assert "Lopez" in page and "Refill request: “I need a refill of my inhaler” (email)" in page
    assert AuditEntry.objects.filter(action="search", query="ui: front-desk agent conversations").exists()


def test_taking_over_answering_by_text_and_giving_back(browser, fran, appointment):
    services.handle_message("sms", "who is this", patient_id=PATIENT, address=MOBILE)
    conversation = Conversation.objects.get()
    assert browser.post(f"/ai/agent/{conversation.pk}/take-over/").status_code == 302
    browser.post(f"/ai/agent/{conversation.pk}/reply/", {"text": "Hi Maria, this is Fran at the front desk."})
    sent = LocalOutboxMessage.objects.get(direction="out")
    assert (sent.to, sent.body) == (MOBILE, "Hi Maria, this is Fran at the front desk.")
    assert services.handle_message("sms", "thanks Fran", patient_id=PATIENT).answer is None
    browser.post(f"/ai/agent/{conversation.pk}/hand-back/")
    assert services.handle_message("sms", "what are your hours?", patient_id=PATIENT).outcome == "answered"
    page = browser.get(f"/ai/agent/{conversation.pk}/").content.decode()
    assert "took over the conversation" in page and "gave the conversation back to the agent" in page
    assert AuditEntry.objects.filter(action="ai-takeover", actor_name="fran").count() == 3


def test_an_empty_staff_answer_is_refused_and_nothing_is_sent(browser, appointment):
    services.handle_message("sms", "who is this", patient_id=PATIENT, address=MOBILE)
    conversation = Conversation.objects.get()
    before = record_row_counts()
    response = browser.post(f"/ai/agent/{conversation.pk}/reply/", {"text": "  "})
    assert response.status_code == 400 and "Write the answer before sending it." in response.content.decode()
    assert record_row_counts() == before and not LocalOutboxMessage.objects.exists()
    assert not Turn.objects.filter(speaker=Turn.STAFF).exists()


def test_the_try_box_hands_the_agent_a_message_and_refuses_an_empty_one(browser, appointment):
    response = browser.post("/ai/agent/try/", {"patient_id": PATIENT, "channel": "voice",
                                               "text": "yeah I'll be there tomorrow"})
    assert response.status_code == 302
    page = browser.get(response["Location"]).content.decode()
    assert "Understood as <em>confirm</em>" in page and "is confirmed" in page
    refused = browser.post("/ai/agent/try/", {"patient_id": PATIENT, "channel": "sms", "text": ""})
    assert refused.status_code == 400 and "The message is empty" in refused.content.decode()


def test_someone_without_the_front_desks_rights_can_neither_see_nor_take_over(appointment):
    services.handle_message("sms", "talk to a human", patient_id=PATIENT)
    auditor = staff_user("audrey", "auditor")
    client = Client()
    client.force_login(auditor)
    assert client.get("/ai/agent/").status_code == 403
    with pytest.raises(Forbidden):
        services.take_over(context_for_user(auditor), Conversation.objects.get().pk)


def test_done_closes_a_queued_request_in_the_staff_members_name(browser, appointment):
    services.handle_message("email", "I need a refill of my inhaler", patient_id=PATIENT)
    task_id = Turn.objects.get(speaker=Turn.PATIENT).task_id
    assert browser.post(f"/ai/agent/requests/{task_id}/done/").status_code == 302
    task = read("Task", task_id)
    assert task["status"] == "completed" and task["owner"] == {"display": "fran"}
    assert "Refill request" not in browser.get("/ai/agent/").content.decode()
    again = browser.post(f"/ai/agent/requests/{task_id}/done/")
    assert again.status_code == 400 and "already completed" in again.content.decode()


def test_done_refuses_a_task_that_is_not_a_patients_request(browser, appointment):
    from mederi.core.context import Context
    from mederi.fhir.repository import Repository

    other = Repository(Context.system("test")).create({
        "resourceType": "Task", "status": "requested", "intent": "order",
        "for": {"reference": f"Patient/{PATIENT}"}}).stored.logical_id
    response = browser.post(f"/ai/agent/requests/{other}/done/")
    assert response.status_code == 400 and "not a request from patients" in response.content.decode()
    assert read("Task", other)["status"] == "requested"
