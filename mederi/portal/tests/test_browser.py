"""The patient's questionnaire in a real browser (headless Chromium): the follow-up question
appears and disappears with the answer it depends on, and the page works under the site's CSP."""

from __future__ import annotations

import pytest

from mederi.conftest import needs_chromium, staff_user
from mederi.portal import demo, services
from mederi.portal.models import QuestionnaireInvite
from mederi.portal.tests.conftest import NOW, context_of, make_appointment, make_patient

pytestmark = needs_chromium


@pytest.fixture
def link(transactional_db, frozen) -> str:
    make_patient()
    make_appointment()
    demo.load_demo(NOW.date())
    _, path = services.invite_to_questionnaire(context_of(staff_user("frontdesk", "front_desk")), "pat-1", "appt-1")
    return path


def test_a_patient_answers_the_questionnaire_with_the_follow_up_shown_only_after_yes(live_server, page, link):
    expect = pytest.importorskip("playwright.sync_api").expect
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto(f"{live_server.url}{link}")
    follow_up = page.locator("#q-5")
    expect(page.locator("h1")).to_have_text("Before your visit")
    expect(follow_up).to_be_hidden()
    page.check("#q-4-true")
    expect(follow_up).to_be_visible()
    page.check("#q-4-false")
    expect(follow_up).to_be_hidden()

    page.click("text=Send my answers")
    expect(page.locator("#summary")).to_be_focused()
    expect(page.locator("#q-1-error")).to_have_text("Please answer this question.")
    expect(follow_up).to_be_hidden()  # "No" was kept, so the follow-up stays out of the way

    page.fill("#q-1", "Sore knee after a fall")
    page.check("#q-4-true")
    page.fill("#q-5", "Ibuprofen 400 mg twice a day")
    page.fill("#q-3", "4")
    page.click("text=Send my answers")
    expect(page.locator("h1")).to_have_text("Thank you, Maria")
    assert QuestionnaireInvite.objects.get().completed_at is not None
    assert refused == []
