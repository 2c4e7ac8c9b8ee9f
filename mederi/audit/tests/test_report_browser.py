"""The audit report in a real browser: headless Chromium driven by Playwright."""

import re

import pytest

from mederi.conftest import needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def auditor(transactional_db):
    from mederi.accounts import services

    services.ensure_default_roles()
    return services.create_staff_user("ada", "a-long-demo-password", "Ada Auditor", roles=["auditor"],
                                      mfa_required=False)


def test_an_auditor_filters_the_log_by_action(live_server, page, auditor):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "a-long-demo-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("header >> text=Audit")
    page.wait_for_url(f"{live_server.url}/audit/")
    assert page.locator("tr.audit-entry").count() >= 2  # the role given to ada, her sign-in

    page.select_option("#id_action", "login")
    page.click("text=Show entries")
    # The page forbids eval (CSP), so wait through a locator rather than a script.
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.locator("#audit-count")).to_have_text(re.compile(r"^1 entry"))
    cells = page.locator("tr.audit-entry td").all_inner_texts()
    assert "login" in cells and "ada (auditor)" in cells
    assert "action=login" in page.url
