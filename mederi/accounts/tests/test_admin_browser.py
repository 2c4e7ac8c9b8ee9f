"""The administration screens in a real browser: headless Chromium driven by Playwright."""

import pytest

from mederi.conftest import needs_chromium

pytestmark = needs_chromium

PASSWORD = "a-long-demo-password"


@pytest.fixture
def practice(transactional_db):
    from mederi.accounts import services
    from mederi.core.context import Context
    from mederi.fhir.repository import Repository

    services.ensure_default_roles()
    services.create_staff_user("boss", PASSWORD, "Pat Admin", roles=["practice_admin"], mfa_required=False)
    nina = services.create_staff_user("nina", PASSWORD, "Nina Nurse", roles=["nurse"], mfa_required=False)
    north = Repository(Context.system()).create({"resourceType": "Location", "name": "North clinic"})
    return nina, north.stored.logical_id


def test_an_admin_makes_a_custom_role_and_gives_it_to_a_user(live_server, page, practice):
    from mederi.accounts.models import RoleAssignment
    from mederi.accounts.selectors import permissions_for

    nina, north = practice
    expect = pytest.importorskip("playwright.sync_api").expect
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("header >> text=Administration")
    page.wait_for_url(f"{live_server.url}/accounts/admin/users/")
    page.click("nav.admin-nav >> text=Roles")
    page.click("text=New role")
    page.fill("#id_slug", "desk_plus")
    page.fill("#id_name", "Front desk plus")
    page.check("#perm-demographics\\.read")
    page.check("#perm-demographics\\.write")
    page.check("#perm-payments\\.post")
    page.click("text=Create the role")
    page.wait_for_url(f"{live_server.url}/accounts/admin/roles/desk_plus/")
    expect(page.locator(".messages")).to_contain_text("The role 'Front desk plus' was created.")

    page.click("nav.admin-nav >> text=Users")
    page.click("a:text-is('nina')")
    page.wait_for_url(f"{live_server.url}/accounts/admin/users/{nina.pk}/")
    page.select_option("#id_assign_role", "desk_plus")
    page.select_option("#id_assign_location", north)
    page.click("text=Give role")
    # htmx replaces the role list in place: the page stays, the list gains a row.
    expect(page.locator("#user-roles .notice")).to_have_text("Front desk plus given at North clinic.")
    expect(page.locator("tr.role-assignment")).to_have_count(2)
    assert page.url == f"{live_server.url}/accounts/admin/users/{nina.pk}/"
    assert page.locator(".messages").count() == 0  # no full-page reload happened

    assert RoleAssignment.objects.filter(user=nina, role__slug="desk_plus", location_id=north).exists()
    assert {"payments.post", "demographics.write"} <= permissions_for(nina, north)
    assert "payments.post" not in permissions_for(nina, "another-location")

    page.click("button[aria-label='Remove Nurse (Every location)']")
    expect(page.locator("tr.role-assignment")).to_have_count(1)
    assert not RoleAssignment.objects.filter(user=nina, role__slug="nurse").exists()
