"""Prescribing in a real browser: a physician picks a drug that interacts with one the demo patient
takes, sees the alert, overrides it with a reason and signs; the prescription is active and the
override is in the audit log."""

import orjson
import pytest

from mederi.audit.models import AuditEntry
from mederi.conftest import needs_chromium, sign_in_browser
from mederi.fhir.models import Resource

pytestmark = needs_chromium


@pytest.fixture
def doctor_page(live_server, page, transactional_db, settings):
    from django.contrib.auth import get_user_model

    from mederi.clinical.prescribing.standin import StandIn
    from mederi.demo import load_demo

    load_demo()
    errors = sign_in_browser(page, live_server, get_user_model().objects.get(username="drruiz"))
    with StandIn() as network:
        settings.MEDERI_ERX_URL = network.url
        yield page
    assert errors == []


def test_override_an_interaction_alert_and_sign(live_server, doctor_page):
    page = doctor_page
    page.goto(f"{live_server.url}/clinical/patients/demo-pat-3/prescribe/?encounter=demo-pat-3-visit-1")
    page.focus("#drug-q")
    page.keyboard.type("ibuprofen 6")
    page.wait_for_selector("input[name=rxcui][value='197806']")
    page.focus("input[name=rxcui][value='197806']")
    page.keyboard.press("Space")  # choose it from the keyboard
    alert = page.wait_for_selector(".cds-card.warning")
    assert "Major interaction: ibuprofen with warfarin" in alert.inner_text()
    assert "What to do" in alert.inner_text()
    alert.query_selector("select").select_option("will-monitor")
    alert.query_selector("input").fill("INR in one week")
    page.fill("#id_dose", "1")
    page.select_option("#id_frequency", "tid")
    page.fill("#id_days", "5")
    page.fill("#id_quantity", "15")
    page.select_option("#id_pharmacy_id", "demo-pharmacy-main")
    page.click("button[name=action][value=sign]")
    page.wait_for_url("**/clinical/prescriptions/**")
    assert page.inner_text("#rx-status") == "active"
    assert page.inner_text("#erx-status") == "accepted"
    request_id = page.url.rstrip("/").split("/")[-1]
    stored = orjson.loads(Resource.objects.get(resource_type="MedicationRequest", logical_id=request_id).content)
    assert stored["status"] == "active" and stored["encounter"]["reference"] == "Encounter/demo-pat-3-visit-1"
    override = orjson.loads(AuditEntry.objects.get(action="cds-feedback", patient_id="demo-pat-3").detail)
    assert (override["outcome"], override["reason"], override["comment"]) == (
        "overridden", "will-monitor", "INR in one week")
