"""In a real browser: a physician starts the visit from the queue, documents it from the adult
template (the draft saves itself as they type) and signs the note."""

from __future__ import annotations

import pytest

from mederi.clinical.notes.tests.conftest import make_appointment, system_repo
from mederi.conftest import needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def physician(transactional_db):
    from mederi.accounts import services

    services.ensure_default_roles()
    repo = system_repo()
    repo.update("Patient", "pat-1", {"resourceType": "Patient", "id": "pat-1",
                                     "name": [{"family": "Lopez", "given": ["Maria"]}]})
    repo.update("Practitioner", "dr-ruiz", {"resourceType": "Practitioner", "id": "dr-ruiz",
                                            "name": [{"family": "Ruiz"}]})
    repo.update("Location", "clinic", {"resourceType": "Location", "id": "clinic", "name": "Main clinic"})
    return services.create_staff_user("drruiz", "a-long-demo-password", "Ana Ruiz", roles=["physician"],
                                      practitioner_id="dr-ruiz", mfa_required=False)


def test_a_physician_documents_a_visit_from_the_queue_and_signs(live_server, page, physician, monkeypatch):
    from datetime import time

    from mederi.core import clock
    from mederi.scheduling import practice_time

    # Today's visit, checked in half an hour ago, whatever the time of day the test runs: just after
    # midnight in the practice's zone, half an hour ago was yesterday, so the visit starts just after midnight.
    earliest = practice_time.to_utc(practice_time.local(practice_time.today(), time(0, 31)))
    monkeypatch.setattr("mederi.clinical.notes.tests.conftest.NOW", max(clock.now(), earliest))
    make_appointment()

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "drruiz")
    page.fill("#id_password", "a-long-demo-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/clinical/queue/")
    page.click("text=Start visit")
    page.wait_for_url("**/clinical/visits/**")
    page.select_option("#template-choice", label="Adult / family medicine visit")
    page.click("text=Use this template")
    page.get_by_label("Chief complaint").fill("Cough for two weeks")
    page.wait_for_selector("#autosave:has-text('Draft saved')", timeout=15000)
    page.click("#entries-vitals summary")  # the visit's structured entries open in place
    page.wait_for_selector("#entries-vitals-body form", timeout=15000)
    page.fill("textarea[name=assessment-text]", "Post-viral cough")
    page.fill("textarea[name=plan-text]", "Fluids and rest")
    page.click("text=Sign the note")
    page.wait_for_selector("#note-status:has-text('signed')", timeout=15000)
    assert "Post-viral cough" in page.inner_text("main")
    assert page.locator("#note-form").count() == 0  # read-only now
    encounter = system_repo().search("Encounter", [("appointment", "Appointment/appt-1")]).matches[0].as_dict()
    assert encounter["status"] == "finished"
