"""The chart in a real browser: a physician opens it from the queue, records vitals and an allergy,
and sees both on the chart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mederi.conftest import needs_chromium, sign_in_browser, staff_user
from mederi.core import clock
from mederi.core.context import Context
from mederi.fhir.repository import Repository

pytestmark = needs_chromium


@pytest.fixture
def waiting_patient(transactional_db):
    repo = Repository(Context.system("test"))
    repo.update("Patient", "pat-browser", {"resourceType": "Patient", "id": "pat-browser", "active": True,
                                           "name": [{"use": "official", "family": "Okonkwo", "given": ["Grace"]}],
                                           "birthDate": "1951-07-02"})
    start = clock.now().replace(microsecond=0)
    repo.update("Appointment", "appt-browser", {
        "resourceType": "Appointment", "id": "appt-browser", "status": "checked-in",
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(minutes=20)).isoformat().replace("+00:00", "Z"),
        "participant": [{"actor": {"reference": "Patient/pat-browser"}, "status": "accepted"}]})
    return "pat-browser"


@pytest.fixture
def physician_page(live_server, page, waiting_patient):
    errors = sign_in_browser(page, live_server, staff_user("drho", "physician"))
    yield page
    assert errors == []


def test_a_physician_opens_the_chart_from_the_queue_and_records_vitals_and_an_allergy(live_server, physician_page):
    page = physician_page
    page.goto(f"{live_server.url}/clinical/queue/")
    page.click("text=Grace Okonkwo")
    page.wait_for_url("**/clinical/patients/pat-browser/")
    assert "Allergies: not yet recorded" in page.inner_text(".allergy-banner")

    page.click("text=Record vital signs")
    page.wait_for_selector("#id_systolic")
    page.fill("#id_systolic", "300x")
    page.fill("#id_diastolic", "80")
    page.click("#entries-vitals button[type=submit]")
    page.wait_for_selector("#id_systolic-error")
    assert "is not a number" in page.inner_text("#id_systolic-error")
    page.fill("#id_systolic", "124")
    page.fill("#id_weight", "150")
    page.select_option("#id_weight_unit", "lb")
    page.click("#entries-vitals button[type=submit]")
    page.wait_for_selector("#entries-vitals .saved")
    assert "124/80 mmHg" in page.inner_text("#entries-vitals")
    assert "68.04 kg" in page.inner_text("#entries-vitals")

    page.click("text=Record an allergy")
    page.wait_for_selector("#id_substance")
    page.fill("#id_substance", "Peanut")
    page.fill("#id_reaction", "Swollen lips")
    page.select_option("#id_severity", "severe")
    page.click("#entries-allergies button[type=submit]")
    page.wait_for_selector("#entries-allergies .saved")

    page.reload()
    assert "Peanut" in page.inner_text(".allergy-banner")
    assert "Swollen lips" in page.inner_text("#entries-allergies")
    assert "124/80 mmHg" in page.inner_text("#entries-vitals")
