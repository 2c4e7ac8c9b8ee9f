"""The pages in a real browser: headless Chromium driven by Playwright."""

import pytest

from mederi.conftest import needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def physician(transactional_db):
    from mederi.accounts import services

    services.ensure_default_roles()
    return services.create_staff_user("drwho", "a-long-demo-password", "Dr Wren Ho", roles=["physician"],
                                      mfa_required=False)


def test_a_physician_signs_in_with_the_keyboard_and_out_again(live_server, page, physician):
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    # The username field takes the focus on arrival (autofocus runs just after the page has loaded).
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_username'")
    page.keyboard.type("drwho")
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
