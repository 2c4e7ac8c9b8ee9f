"""The reports in a real browser (headless Chromium), used with the keyboard, under the site's
content security policy."""

from __future__ import annotations

import pytest

from mederi.conftest import needs_chromium
from mederi.reports.tests.conftest import build_practice

pytestmark = needs_chromium

PASSWORD = "a-long-demo-password"


@pytest.fixture
def live_practice(transactional_db):
    from mederi.accounts import services

    services.ensure_default_roles()
    services.create_staff_user("fran", PASSWORD, "Fran Desk", roles=["front_desk"], mfa_required=False)
    return build_practice()


def test_the_front_desk_picks_filters_and_a_report_with_the_keyboard(live_server, page, live_practice):
    expect = pytest.importorskip("playwright.sync_api").expect
    refused = []
    # What the policy refused, except htmx's own indicator style, which the base page loads everywhere.
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            and not message.location.get("url", "").endswith("htmx.min.js") else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "fran")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/reports/")
    page.fill("#id_date_from", live_practice.first.isoformat())
    page.fill("#id_date_to", live_practice.last.isoformat())
    page.focus("#id_provider")
    page.keyboard.press("ArrowDown")  # All providers -> Dr Lee
    page.keyboard.press("ArrowDown")  # -> Dr Okafor
    page.focus("button:text-is('Provider utilization')")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/reports/utilization/?*")
    rows = page.locator("table.report-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Main clinic")
    expect(rows.nth(0)).to_contain_text("2.1%")
    expect(page.locator("#chart-utilization svg[role=img] rect.bar")).to_have_count(2)
    expect(page.locator("a:text-is('Download CSV')")).to_have_attribute("href", "/reports/utilization/?date_from="
                                                                              f"{live_practice.first.isoformat()}"
                                                                              f"&date_to={live_practice.last.isoformat()}"
                                                                              "&provider=dr-okafor&format=csv")

    page.fill("#id_date_to", "2020-01-01")
    page.focus("#id_date_to")
    page.keyboard.press("Enter")
    expect(page.locator("#id_date_to-error")).to_contain_text("before it starts")
    assert refused == []
