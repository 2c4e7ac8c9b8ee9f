"""A signed-in patient writes to the practice from the portal and reads the answers; never anyone else's."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.accounts import services as accounts
from mederi.accounts.context import context_for_user
from mederi.ai.agent import selectors, services
from mederi.ai.agent.models import Conversation
from mederi.ai.agent.tests.conftest import PATIENT
from mederi.conftest import record_row_counts, staff_user
from mederi.core.errors import Forbidden


@pytest.fixture
def maria(appointment):
    return accounts.create_patient_user("maria", "a-long-portal-password-1", PATIENT, "Maria Lopez")


@pytest.fixture
def portal(maria):
    client = Client()
    client.force_login(maria)
    return client


def test_a_patient_asks_and_reads_the_answer(portal):
    assert portal.post("/ai/agent/my-messages/", {"text": "what are your hours?"}).status_code == 302
    page = portal.get("/ai/agent/my-messages/").content.decode()
    assert "what are your hours?" in page and "Mon-Fri 8 AM-5 PM, Sat 9 AM-12 PM." in page
    assert Conversation.objects.get().channel == "portal"


def test_an_empty_message_is_refused_with_a_reason_and_stores_nothing(portal):
    before = record_row_counts()
    response = portal.post("/ai/agent/my-messages/", {"text": "   "})
    assert response.status_code == 400 and "The message is empty" in response.content.decode()
    assert record_row_counts() == before and not Conversation.objects.exists()


def test_staff_notes_stay_with_staff(portal):
    portal.post("/ai/agent/my-messages/", {"text": "I want to talk to a person"})
    page = portal.get("/ai/agent/my-messages/").content.decode()
    assert "A member of our staff will contact you soon." in page and "Handed to the front desk" not in page


def test_a_patient_never_reaches_the_staff_screen_or_its_services(portal, maria, appointment):
    services.handle_message("sms", "talk to a human", patient_id=PATIENT)
    assert portal.get("/ai/agent/").status_code == 403
    with pytest.raises(Forbidden):
        selectors.conversations(context_for_user(maria))
    with pytest.raises(Forbidden):
        services.take_over(context_for_user(maria), Conversation.objects.get().pk)


def test_a_staff_account_has_no_portal_conversation(appointment):
    client = Client()
    client.force_login(staff_user("fran", "front_desk"))
    assert client.get("/ai/agent/my-messages/").status_code == 403
