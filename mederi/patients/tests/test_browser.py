"""Registration in a real browser: the duplicate prompt while typing, and the keyboard-driven search box."""

import pytest

from mederi.conftest import needs_chromium

pytestmark = needs_chromium

PASSWORD = "a-long-desk-password"


@pytest.fixture
def desk_with_patient(transactional_db):
    from mederi.accounts import services as accounts
    from mederi.core.context import Context
    from mederi.fhir.repository import Repository
    from mederi.patients import services
    from mederi.patients.tests.conftest import ORGANIZATION_TYPE, registration, role_context

    accounts.ensure_default_roles()
    accounts.create_staff_user("fran", PASSWORD, "Fran Desk", roles=["front_desk"], mfa_required=False)
    Repository(Context.system("test")).update("Organization", "payer-acme", {
        "resourceType": "Organization", "id": "payer-acme", "active": True, "name": "Acme Health Plan",
        "type": [{"coding": [{"system": ORGANIZATION_TYPE, "code": "pay"}]}]})
    return services.register_patient(role_context("front_desk"), registration())


def sign_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "fran")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_a_possible_match_is_offered_while_registering(live_server, page, desk_with_patient):
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/patients/new")
    page.fill("#id_family", "Chalmers")
    page.fill("#id_given", "Pete")
    page.fill("#id_birth_date", "12/25/1974")
    page.press("#id_birth_date", "Tab")  # leaving the field sends the check
    prompt = page.locator(".possible-match")
    expect(prompt).to_contain_text("Possible match: Peter James Chalmers, born 1974-12-25")
    page.wait_for_load_state("networkidle")  # the checks sent while typing have all answered
    page.check(f"input[name=distinct_from][value='{desk_with_patient}']")
    page.fill("#id_phone", "555-777-0000")
    page.click("text=Register the patient")
    expect(page.locator("h1")).to_contain_text("Pete Chalmers")
    expect(page.locator(".messages")).to_contain_text("The patient is registered.")


def test_the_search_box_works_from_the_keyboard(live_server, page, desk_with_patient):
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/patients/")
    page.locator("#patient-query").press_sequentially("chal", delay=30)
    expect(page.locator("a.patient-hit")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    expect(page.locator("a.patient-hit").first).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.locator("#patient-query")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/patients/{desk_with_patient}/")
    expect(page.locator("h1")).to_contain_text("Peter James Chalmers")
