"""The front desk in a real browser: a patient's text moves a visit through the agent, then a person takes
over the conversation and answers."""

from __future__ import annotations

import pytest

from mederi.ai.agent import evaluation
from mederi.ai.agent.tests.conftest import MOBILE, PATIENT, read
from mederi.conftest import needs_chromium, sign_in_browser, staff_user
from mederi.scheduling.reminders.models import LocalOutboxMessage

pytestmark = needs_chromium


@pytest.fixture
def booked(transactional_db) -> str:
    return evaluation.make_practice()


@pytest.fixture
def signed_in_page(live_server, page, booked):
    errors = sign_in_browser(page, live_server, staff_user("fran", "front_desk"))
    page.set_default_timeout(120_000)  # a wait limit for a busy shared machine, not a speed check
    yield page
    assert errors == []


def give_the_agent(page, text: str) -> None:
    page.fill("input[name=patient_id]", PATIENT)
    page.fill("input[name=address]", MOBILE)
    page.select_option("select[name=channel]", "sms")
    page.fill("textarea[name=text]", text)
    page.click("text=Send to the agent")


def test_a_reschedule_by_text_then_a_person_takes_over(live_server, signed_in_page, booked):
    page = signed_in_page
    was = read("Appointment", booked)["start"]
    page.goto(f"{live_server.url}/ai/agent/")
    give_the_agent(page, "Can I move my appointment to another day?")
    conversation = page.inner_text("ol.conversation")
    assert "Understood as reschedule" in conversation and "Reply with the number, or NONE." in conversation
    page.click("text=All patient messages")
    give_the_agent(page, "2")
    assert "Done: your appointment with Dr. Ruiz on" in page.inner_text("ol.conversation")
    assert read("Appointment", booked)["start"] != was

    page.click("button:text('Take over')")
    assert "fran took over the conversation." in page.inner_text("ol.conversation")
    page.fill("section textarea[name=text]", "Hi Maria, Fran here: see you then!")
    page.click("section button:text('Send')")
    assert "Hi Maria, Fran here: see you then!" in page.inner_text("ol.conversation")
    assert LocalOutboxMessage.objects.get(direction="out").to == MOBILE
    page.click("text=All patient messages")
    assert "With fran" in page.inner_text("table")

