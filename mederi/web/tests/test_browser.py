"""The pages in a real browser: headless Chromium driven by Playwright."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]
# Playwright's sync API runs an event loop; Django must allow its ORM calls beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser.new_page()
        browser.close()


@pytest.fixture
def physician(transactional_db):
    from mederi.accounts import services

    services.ensure_default_roles()
    return services.create_staff_user("drwho", "a-long-demo-password", "Dr Wren Ho", roles=["physician"],
                                      mfa_required=False)


def test_a_physician_signs_in_with_the_keyboard_and_out_again(live_server, page, physician):
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    page.keyboard.type("drwho")  # the username field has focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type("a-long-demo-password")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    assert "Dr Wren Ho" in page.inner_text("header")
    assert "Your roles: Physician / provider" in page.inner_text("main")
    page.click("text=Sign out")
    page.wait_for_url("**/accounts/login/")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url


def test_a_wrong_password_is_explained_on_the_page(live_server, page, physician):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "drwho")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "do not match" in page.inner_text("[role=alert]")
