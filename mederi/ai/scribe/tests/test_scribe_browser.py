"""The issue's must-show, tried as a new user would: a clinician records a visit in Chromium (a fake
microphone playing an espeak-ng visit), gets the draft, accepts suggestions into the chart and signs;
the biller then finds the suggested codes on the charge screen and the denial-risk score on the claim."""

from __future__ import annotations

import os

import pytest

from mederi.ai.scribe import synthesis
from mederi.ai.scribe.models import Recording
from mederi.ai.scribe.tests.conftest import needs_model, needs_speech
from mederi.billing.claims import fees
from mederi.billing.tests.conftest import practice, system_repository  # noqa: F401 (practice is a fixture)
from mederi.billing.tests.test_claims_flow import ADDRESS, SYSTEM
from mederi.conftest import CHROMIUM, needs_chromium, sign_in_browser
from mederi.core import systems

pytestmark = [*needs_chromium, needs_speech, needs_model]


@pytest.fixture(scope="module")
def spoken_visit(tmp_path_factory):
    path = tmp_path_factory.mktemp("fake-microphone") / "visit.wav"
    seconds = synthesis.synthesise(synthesis.SHORT_VISIT, path)
    return path, seconds


@pytest.fixture
def microphone_page(spoken_visit):
    """Chromium whose microphone plays the synthesised visit (and allows it without asking)."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={spoken_visit[0]}"])
        yield browser.new_page()
        browser.close()


@pytest.fixture
def open_visit(transactional_db, practice, settings, tmp_path):  # noqa: F811
    from mederi.accounts import services

    settings.MEDERI_SCRIBE_AUDIO_DIR = tmp_path / "audio"
    repository = system_repository()
    practice_org = repository.read("Organization", "practice").as_dict()
    repository.update("Organization", "practice", {**practice_org, "address": ADDRESS, "identifier": [
        *practice_org["identifier"], {"system": systems.TAX_ID, "value": "123456789"}]})
    repository.update("Practitioner", "dr-smith", {
        "resourceType": "Practitioner", "id": "dr-smith", "name": [{"family": "Smith", "given": ["Anna"]}],
        "identifier": [{"system": systems.NPI, "value": "1234567893"}]})
    jane = repository.read("Patient", "pat-jane").as_dict()
    repository.update("Patient", "pat-jane", {**jane, "address": ADDRESS})
    repository.update("Encounter", "visit-jane", {
        "resourceType": "Encounter", "id": "visit-jane", "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/pat-jane"}, "period": {"start": "2026-11-02T09:00:00-06:00"},
        "participant": [{"individual": {"reference": "Practitioner/dr-smith"}}]})
    fees.set_price(SYSTEM, fees.default_schedule(), "99213", "", "120.00")
    services.ensure_default_roles()
    doctor = services.create_staff_user("drsmith", "a-long-demo-password", "Anna Smith", roles=["physician"],
                                        practitioner_id="dr-smith", mfa_required=False)
    biller = services.create_staff_user("bea", "a-long-demo-password", "Bea Biller", roles=["biller"],
                                        mfa_required=False)
    return doctor, biller


def _accept(page, label: str) -> None:
    """Accept one suggestion and wait for the reloaded page, where its button is gone."""
    button = page.locator(f"button[aria-label='{label}']")
    button.click()
    button.wait_for(state="detached")


def test_a_recorded_visit_becomes_chart_entries_a_signed_note_and_a_scored_claim(
        live_server, microphone_page, open_visit, spoken_visit):
    page = microphone_page
    doctor, biller = open_visit
    errors = sign_in_browser(page, live_server, doctor)

    # The clinician opens the visit and records it.
    page.goto(f"{live_server.url}/clinical/visits/visit-jane/")
    page.click("text=Record the visit")
    page.click("#record-start")
    page.wait_for_selector("text=Recording…")
    page.wait_for_timeout(int((spoken_visit[1] + 1.5) * 1000))  # the visit plays once through the microphone
    page.click("#record-stop")
    page.wait_for_url("**/ai/scribe/recordings/**", timeout=240_000)
    page.wait_for_selector("text=The draft is ready", timeout=240_000)
    recording = Recording.objects.get()
    assert recording.audio_type.startswith(("audio/webm", "audio/ogg"))
    transcript = page.inner_text(".transcript").lower()
    assert "penicillin" in transcript and "chest pain" in transcript and "doctor" in transcript

    # Each suggestion shows where it was said; "no chest pain" cannot be accepted as a problem.
    assert "said to be absent" in page.inner_text("#findings-title + table")
    assert page.locator("button[aria-label='Accept problem: Chest pain, unspecified']").count() == 0
    _accept(page, "Accept allergy: penicillins")
    _accept(page, "Accept problem: Pneumonia, unspecified organism")
    sections = page.locator("button[aria-label^='Accept section:']")
    for label in [button.get_attribute("aria-label") for button in sections.all()]:
        _accept(page, label)
    assert page.locator("text=Accepted by").count() >= 3

    # Back on the note: the accepted sections are in the draft, the allergy and problem on the chart; sign.
    page.click("text=Back to the visit note")
    page.wait_for_selector("#note-form")
    written = page.eval_on_selector_all("#note-form textarea, #note-form input", "els => els.map(e => e.value).join(' ')")
    assert "pneumonia" in written.lower() and "chest pain" in written.lower()
    page.click("button[value=sign]")
    page.wait_for_selector("#note-status >> text=signed")
    assert "pneumonia" in page.inner_text("main").lower()
    conditions = [c.as_dict() for c in system_repository().search("Condition", [("patient", "pat-jane")]).matches]
    assert any(c["code"]["coding"][0]["code"] == "J18.9" for c in conditions)
    allergies = system_repository().search("AllergyIntolerance", [("patient", "pat-jane")]).matches
    assert len(allergies) == 1

    # Code suggestions on the signed note: the clinician accepts the pneumonia code.
    page.click("text=Code suggestions")
    page.click("text=Suggest codes")
    page.click("text=Accept J18.9")
    page.wait_for_selector("text=Accepted by")
    assert errors == []

    # The biller: the suggested code is on the charge screen, and the claim shows its denial risk.
    page.context.clear_cookies()
    sign_in_browser(page, live_server, biller)
    page.goto(f"{live_server.url}/billing/charges/visit/visit-jane/")
    assert page.input_value("#dx_1") == "J18.9"
    page.click("button[value=review]")
    page.fill("#code_0", "99213")
    page.select_option("#ptr_0_1", "1")
    page.click("button[value=review]")
    page.click("button[value=create]")
    page.wait_for_url("**/billing/claims/**")
    assert "J18.9" in page.inner_text("main")
    assert page.locator("#claim-risk").is_visible()
    assert "%" in page.inner_text("#risk-level")
