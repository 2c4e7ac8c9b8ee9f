"""The administration screens for users, roles and OAuth apps, as an administrator meets them."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.test import Client
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from mederi.accounts import selectors, services
from mederi.accounts.models import ClientProfile, MfaDevice, Role, RoleAssignment
from mederi.audit.models import AuditEntry
from mederi.conftest import oauth_application as registered_app
from mederi.conftest import token_for
from mederi.core.context import Context
from mederi.fhir.repository import Repository

User = get_user_model()
PASSWORD = "correct-horse-battery-9"
JWKS = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
                  "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                  "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}


@pytest.fixture
def admin(db):
    services.ensure_default_roles()
    return services.create_staff_user("boss", PASSWORD, "Pat Admin", roles=["practice_admin"], mfa_required=False)


@pytest.fixture
def admin_client(admin):
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def north(db):
    return Repository(Context.system()).create({"resourceType": "Location", "name": "North clinic"}).stored.logical_id


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def audit_entries(action: str, **detail) -> list[dict]:
    found = []
    for entry in AuditEntry.objects.filter(action=action):
        data = json.loads(entry.detail or "{}")
        if all(data.get(key) == value for key, value in detail.items()):
            found.append({"actor": entry.actor_name, **data})
    return found


def client_change_entries(client_id: str) -> list[dict]:
    return audit_entries("client-change", client=client_id)


def ticked(page: str) -> set[str]:
    """The permission checkboxes a page shows ticked."""
    return set(re.findall(r'<input type="checkbox" name="permissions" value="([^"]+)"[^>]*\schecked>', page))


def new_user_form(**overrides) -> dict:
    return {"username": "nina", "full_name": "Nina Nurse", "password": PASSWORD, "practitioner_id": "",
            "mfa_required": "on", "roles": ["nurse"], "location": "", **overrides}


# -- who may use the screens -------------------------------------------------------------------

ADMIN_PAGES = ["/accounts/admin/", "/accounts/admin/users/", "/accounts/admin/users/new/",
               "/accounts/admin/users/{user}/", "/accounts/admin/users/{user}/deactivate/",
               "/accounts/admin/roles/", "/accounts/admin/roles/new/", "/accounts/admin/roles/nurse/",
               "/accounts/admin/apps/", "/accounts/admin/apps/new/", "/accounts/admin/apps/{app}/",
               "/accounts/admin/apps/{app}/revoke/"]
ADMIN_WRITES = ["/accounts/admin/users/new/", "/accounts/admin/users/{user}/roles/assign/",
                "/accounts/admin/users/{user}/roles/remove/", "/accounts/admin/users/{user}/deactivate/",
                "/accounts/admin/users/{user}/reactivate/", "/accounts/admin/users/{user}/reset-mfa/",
                "/accounts/admin/roles/new/", "/accounts/admin/roles/nurse/", "/accounts/admin/apps/new/",
                "/accounts/admin/apps/{app}/", "/accounts/admin/apps/{app}/revoke/"]


def test_a_front_desk_user_is_refused_every_admin_page_and_change(admin):
    desk = services.create_staff_user("desk", PASSWORD, "Dee Desk", roles=["front_desk"], mfa_required=False)
    app = registered_app()
    client = Client()
    client.force_login(desk)
    for url in ADMIN_PAGES:
        response = client.get(url.format(user=admin.pk, app=app.pk))
        assert response.status_code == 403, url
        assert b"You may not manage accounts" in response.content
    before = (User.objects.count(), RoleAssignment.objects.count(), Role.objects.count(), Application.objects.count())
    for url in ADMIN_WRITES:
        response = client.post(url.format(user=admin.pk, app=app.pk),
                               {**new_user_form(), "role": "practice_admin", "slug": "x", "name": "x"})
        assert response.status_code == 403, url
    assert User.objects.get(pk=admin.pk).is_active
    assert (User.objects.count(), RoleAssignment.objects.count(), Role.objects.count(),
            Application.objects.count()) == before


def test_signed_out_visitors_are_sent_to_sign_in(db):
    response = Client().get("/accounts/admin/users/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_administration_link_shows_only_to_administrators(admin_client, admin):
    assert b"Administration" in admin_client.get("/").content
    desk = services.create_staff_user("desk", PASSWORD, "Dee Desk", roles=["front_desk"], mfa_required=False)
    client = Client()
    client.force_login(desk)
    assert b"Administration" not in client.get("/").content


# -- users -------------------------------------------------------------------------------------

def test_an_admin_creates_a_user_with_a_role_at_a_location_and_it_shows(admin_client, north):
    response = admin_client.post("/accounts/admin/users/new/",
                                 new_user_form(location=north, practitioner_id="pr-7"))
    nina = User.objects.get(username="nina")
    assert response.status_code == 302 and response["Location"] == f"/accounts/admin/users/{nina.pk}/"
    assert nina.check_password(PASSWORD) and nina.profile.mfa_required and nina.profile.practitioner_id == "pr-7"
    assert list(RoleAssignment.objects.filter(user=nina).values_list("role__slug", "location_id")) == [
        ("nurse", north)]
    page = admin_client.get(response["Location"]).content.decode()
    assert "Nina Nurse" in page and "North clinic" in page and "Nurse" in page
    listing = admin_client.get("/accounts/admin/users/").content.decode()
    assert "nina" in listing and "Nurse <small>at North clinic</small>" in listing
    assert selectors.permissions_for(nina, north) >= {"clinical.write"}
    assert selectors.permissions_for(nina, "elsewhere") == frozenset()
    assert audit_entries("role-change", user="nina", assigned="nurse", location=north)[0]["actor"] == "boss"


@pytest.mark.parametrize("form, message", [
    (new_user_form(password="short"), "too short"),
    (new_user_form(password="password12345"), "too common"),
    (new_user_form(username="boss"), "The username &#x27;boss&#x27; is taken"),
    (new_user_form(username="bad name!"), "Enter a valid username"),
])
def test_a_bad_new_user_is_refused_with_the_reason_and_nothing_is_created(admin_client, form, message):
    users, assignments, entries = User.objects.count(), RoleAssignment.objects.count(), last_entry_id()
    response = admin_client.post("/accounts/admin/users/new/", form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert b"Nothing was saved" in response.content
    assert (User.objects.count(), RoleAssignment.objects.count()) == (users, assignments)
    assert not AuditEntry.objects.filter(pk__gt=entries, action="role-change").exists()


def test_roles_are_given_and_taken_in_place_with_htmx(admin_client, north):
    nina = services.create_staff_user("nina", PASSWORD, "Nina Nurse", mfa_required=False)
    url = f"/accounts/admin/users/{nina.pk}/roles/"
    response = admin_client.post(url + "assign/", {"role": "physician", "location": north}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section id="user-roles"') and "<html" not in fragment
    assert "Physician / provider given at North clinic" in fragment
    assert RoleAssignment.objects.filter(user=nina, role__slug="physician", location_id=north).exists()

    again = admin_client.post(url + "assign/", {"role": "physician", "location": north}, HTTP_HX_REQUEST="true")
    assert "They have that role there already." in again.content.decode()
    unknown = admin_client.post(url + "assign/", {"role": "physician", "location": "nowhere"},
                                HTTP_HX_REQUEST="true")
    assert "Choose a role, and a location from the list" in unknown.content.decode()
    assert RoleAssignment.objects.filter(user=nina).count() == 1

    removed = admin_client.post(url + "remove/", {"role": "physician", "location": north}, HTTP_HX_REQUEST="true")
    assert "Physician / provider taken away at North clinic" in removed.content.decode()
    assert not RoleAssignment.objects.filter(user=nina).exists()
    assert audit_entries("role-change", user="nina", removed="physician", location=north)


def test_roles_are_given_and_taken_without_javascript_too(admin_client):
    nina = services.create_staff_user("nina", PASSWORD, "Nina Nurse", mfa_required=False)
    url = f"/accounts/admin/users/{nina.pk}/roles/"
    response = admin_client.post(url + "assign/", {"role": "biller", "location": ""})
    assert response.status_code == 302 and response["Location"] == f"/accounts/admin/users/{nina.pk}/"
    page = admin_client.get(response["Location"]).content.decode()
    assert "Biller given at every location" in page and "Every location" in page
    response = admin_client.post(url + "remove/", {"role": "biller", "location": ""}, follow=True)
    assert "Biller taken away at every location" in response.content.decode()
    assert not RoleAssignment.objects.filter(user=nina).exists()


def test_deactivating_from_the_screen_ends_sessions_and_tokens(admin_client):
    nina = services.create_staff_user("nina", PASSWORD, "Nina Nurse", roles=["nurse"], mfa_required=False)
    nina_browser = Client()
    assert nina_browser.post("/accounts/login/", {"username": "nina", "password": PASSWORD}).status_code == 302
    assert nina_browser.get("/").status_code == 200
    token_for(nina)
    assert AccessToken.objects.filter(user=nina).count() == 1

    confirm = admin_client.get(f"/accounts/admin/users/{nina.pk}/deactivate/")
    assert b"Deactivate nina?" in confirm.content
    response = admin_client.post(f"/accounts/admin/users/{nina.pk}/deactivate/", follow=True)
    assert "1 signed-in session ended and every OAuth token revoked" in response.content.decode()
    nina.refresh_from_db()
    assert not nina.is_active
    assert not AccessToken.objects.filter(user=nina).exists()
    after = nina_browser.get("/")
    assert after.status_code == 302 and after["Location"].startswith("/accounts/login/")
    assert audit_entries("role-change", user="nina", deactivated=True)[0]["actor"] == "boss"

    admin_client.post(f"/accounts/admin/users/{nina.pk}/reactivate/")
    nina.refresh_from_db()
    assert nina.is_active and audit_entries("role-change", user="nina", reactivated=True)


def test_an_admin_cannot_deactivate_themselves(admin_client, admin):
    response = admin_client.post(f"/accounts/admin/users/{admin.pk}/deactivate/", follow=True)
    assert "cannot deactivate your own account" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active


def test_resetting_mfa_makes_the_person_enrol_again(admin_client):
    nina = services.create_staff_user("nina", PASSWORD, "Nina Nurse", roles=["nurse"])
    MfaDevice.objects.create(user=nina, secret="JBSWY3DPEHPK3PXP", confirmed=True)
    assert "Enrolled" in admin_client.get(f"/accounts/admin/users/{nina.pk}/").content.decode()
    response = admin_client.post(f"/accounts/admin/users/{nina.pk}/reset-mfa/", follow=True)
    assert "set up their authenticator app again" in response.content.decode()
    assert not MfaDevice.objects.filter(user=nina).exists()
    assert audit_entries("mfa-change", user="nina", reset=True)[0]["actor"] == "boss"
    signing_in = Client().post("/accounts/login/", {"username": "nina", "password": PASSWORD})
    assert signing_in["Location"] == "/accounts/mfa/enrol/"


# -- roles -------------------------------------------------------------------------------------

def test_a_custom_role_is_created_and_edited_and_changes_what_holders_may_do(admin_client):
    response = admin_client.post("/accounts/admin/roles/new/", {
        "slug": "desk_plus", "name": "Front desk plus", "description": "Also posts copays",
        "permissions": ["demographics.read", "demographics.write", "payments.post"]})
    assert response.status_code == 302 and response["Location"] == "/accounts/admin/roles/desk_plus/"
    role = Role.objects.get(slug="desk_plus")
    assert not role.builtin
    nina = services.create_staff_user("nina", PASSWORD, "Nina", roles=["desk_plus"], mfa_required=False)
    assert selectors.permissions_for(nina) == {"demographics.read", "demographics.write", "payments.post"}

    page = admin_client.get("/accounts/admin/roles/desk_plus/").content.decode()
    assert ticked(page) == {"demographics.read", "demographics.write", "payments.post"} and "nina" in page
    response = admin_client.post("/accounts/admin/roles/desk_plus/",
                                 {"permissions": ["demographics.read", "scheduling.read", "scheduling.write"]})
    assert response.status_code == 302
    assert selectors.permissions_for(nina) == {"demographics.read", "scheduling.read", "scheduling.write"}
    assert audit_entries("role-change", role="desk_plus", created=True)[0]["actor"] == "boss"
    changed = audit_entries("role-change", role="desk_plus", added=["scheduling.read", "scheduling.write"])
    assert changed[0]["removed"] == ["demographics.write", "payments.post"]
    listing = admin_client.get("/accounts/admin/roles/").content.decode()
    assert "Front desk plus" in listing and "Practice administrator" in listing


def test_a_taken_slug_or_unknown_permission_is_refused_and_nothing_saved(admin_client):
    roles, entries = Role.objects.count(), last_entry_id()
    taken = admin_client.post("/accounts/admin/roles/new/", {"slug": "nurse", "name": "Mine",
                                                             "permissions": ["clinical.read"]})
    assert "A role &#x27;nurse&#x27; exists already" in taken.content.decode()
    unknown = admin_client.post("/accounts/admin/roles/new/", {"slug": "mine", "name": "Mine",
                                                               "permissions": ["clinical.read", "fly.plane"]})
    text = unknown.content.decode()
    assert "&#x27;fly.plane&#x27; is not a permission Mederi knows" in text
    assert ticked(text) == {"clinical.read"}  # what was ticked stays ticked
    assert Role.objects.count() == roles
    services.create_role("mine", "Mine", ["clinical.read"])
    edit = admin_client.post("/accounts/admin/roles/mine/", {"permissions": ["clinical.write", "fly.plane"]})
    assert "is not a permission Mederi knows" in edit.content.decode()
    assert Role.objects.get(slug="mine").permissions == ["clinical.read"]
    assert not AuditEntry.objects.filter(pk__gt=entries, actor_name="boss", action="role-change").exists()


def test_shipped_roles_are_read_only(admin_client):
    page = admin_client.get("/accounts/admin/roles/nurse/").content.decode()
    assert "shipped role" in page and "Copy it into a new role" in page and 'type="checkbox"' not in page
    before = Role.objects.get(slug="nurse").permissions
    response = admin_client.post("/accounts/admin/roles/nurse/", {"permissions": ["audit.view"]}, follow=True)
    assert "cannot be changed" in response.content.decode()
    assert Role.objects.get(slug="nurse").permissions == before
    copy = admin_client.get("/accounts/admin/roles/new/?from=nurse").content.decode()
    assert 'value="Nurse (copy)"' in copy
    assert ticked(copy) == set(Role.objects.get(slug="nurse").permissions)


# -- OAuth apps --------------------------------------------------------------------------------

def app_form(**overrides) -> dict:
    return {"name": "Growth charts", "kind": "app", "client_type": "public",
            "redirect_uris": "https://charts.example.org/callback\nhttp://127.0.0.1:8765/cb",
            "allowed_scopes": "launch patient/Observation.rs openid fhirUser", "launch_uri": "", "jwks": "",
            "jwks_uri": "", "service_user": "", **overrides}


def shown_secret(page: str) -> str | None:
    found = re.search(r'<code id="client-secret" class="secret-value">([^<]+)</code>', page)
    return found.group(1) if found else None


def test_registering_a_confidential_app_shows_its_secret_once(admin_client):
    response = admin_client.post("/accounts/admin/apps/new/", app_form(client_type="confidential"))
    app = Application.objects.get(name="Growth charts")
    assert response.status_code == 302 and response["Location"] == f"/accounts/admin/apps/{app.pk}/"
    text = admin_client.get(response["Location"]).content.decode()
    secret = shown_secret(text)
    assert secret and len(secret) >= 40 and "shown only this once" in text
    assert app.client_secret != secret and check_password(secret, app.client_secret)
    assert app.redirect_uris == "https://charts.example.org/callback http://127.0.0.1:8765/cb"
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE and app.user is None
    assert app.mederi_profile.kind == ClientProfile.APP
    assert app.mederi_profile.allowed_scopes == "launch patient/Observation.rs openid fhirUser"
    for url in (f"/accounts/admin/apps/{app.pk}/", "/accounts/admin/apps/"):  # never again
        page = admin_client.get(url).content.decode()
        assert app.client_id in page and secret not in page and shown_secret(page) is None
    assert not any(secret in str(value) for value in admin_client.session.values())
    entry = client_change_entries(app.client_id)[0]
    assert entry["registered"] and entry["actor"] == "boss" and secret not in json.dumps(entry)


def test_a_public_app_gets_no_secret(admin_client):
    response = admin_client.post("/accounts/admin/apps/new/", app_form(), follow=True)
    app = Application.objects.get(name="Growth charts")
    assert app.client_type == "public"
    assert "The client &#x27;Growth charts&#x27; is registered" in response.content.decode()
    assert shown_secret(response.content.decode()) is None


@pytest.mark.parametrize("form, message", [
    (app_form(redirect_uris=""), "An app needs at least one redirect URI"),
    (app_form(redirect_uris="not a url"), "is not an http(s) address"),
    (app_form(kind="backend", client_type="confidential", redirect_uris=""),
     "A backend service needs its public keys: paste its JWKS or give its JWKS URL."),
    (app_form(kind="backend", client_type="confidential", jwks='{"kid": 1}'), "with a &quot;keys&quot; list"),
    (app_form(kind="backend", client_type="confidential", jwks="{not json"), "The JWKS is not valid JSON"),
    (app_form(kind="backend", client_type="public", jwks=json.dumps(JWKS)), "must be a confidential client"),
    (app_form(kind="backend", client_type="confidential", jwks=json.dumps(JWKS)), "needs a service account"),
    (app_form(allowed_scopes='patient/*.rs "x"'), "Not a scope: "),
])
def test_a_bad_registration_is_refused_with_a_clear_message(admin_client, form, message):
    response = admin_client.post("/accounts/admin/apps/new/", form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Application.objects.exists() and not ClientProfile.objects.exists()


def test_a_backend_service_acts_as_the_service_account_chosen(admin_client):
    robot = services.create_staff_user("lab-robot", PASSWORD, "Lab interface", roles=["nurse"], mfa_required=False)
    response = admin_client.post("/accounts/admin/apps/new/", app_form(
        name="Lab feed", kind="backend", client_type="confidential", redirect_uris="",
        allowed_scopes="system/Observation.cruds", jwks_uri="https://lab.example.org/jwks.json",
        service_user=str(robot.pk)))
    app = Application.objects.get(name="Lab feed")
    assert response.status_code == 302 and response["Location"] == f"/accounts/admin/apps/{app.pk}/"
    assert app.user == robot and app.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    assert app.mederi_profile.kind == ClientProfile.BACKEND
    assert app.mederi_profile.jwks_uri == "https://lab.example.org/jwks.json"

    edit = admin_client.post(f"/accounts/admin/apps/{app.pk}/", {
        "name": "Lab feed", "redirect_uris": "", "allowed_scopes": "system/Observation.rs", "launch_uri": "",
        "jwks": json.dumps(JWKS), "jwks_uri": "", "service_user": str(robot.pk)})
    assert edit.status_code == 302
    app.mederi_profile.refresh_from_db()
    assert app.mederi_profile.jwks == JWKS and app.mederi_profile.allowed_scopes == "system/Observation.rs"
    changed = [e for e in client_change_entries(app.client_id) if "changed" in e]
    assert changed[0]["changed"] == ["allowed_scopes", "jwks", "jwks_uri"]

    refused = admin_client.post(f"/accounts/admin/apps/{app.pk}/", {
        "name": "Lab feed", "redirect_uris": "", "allowed_scopes": "", "launch_uri": "", "jwks": "", "jwks_uri": "",
        "service_user": str(robot.pk)})
    assert "needs its public keys" in refused.content.decode()
    app.mederi_profile.refresh_from_db()
    assert app.mederi_profile.jwks == JWKS


def test_revoking_an_app_removes_it_and_every_token(admin_client, admin):
    app = registered_app("Doomed app")
    ClientProfile.objects.create(application=app)
    token_for(admin, application=app)
    token_for(admin, application=app)
    access = AccessToken.objects.filter(application=app).first()
    RefreshToken.objects.create(user=admin, application=app, token="r-1", access_token=access)
    Grant.objects.create(user=admin, application=app, code="c-1", expires=access.expires,
                         redirect_uri="http://127.0.0.1:9/callback", code_challenge="x" * 43,
                         code_challenge_method="S256")
    other = token_for(admin)  # another app's token is untouched

    confirm = admin_client.get(f"/accounts/admin/apps/{app.pk}/revoke/")
    assert b"Remove Doomed app?" in confirm.content
    response = admin_client.post(f"/accounts/admin/apps/{app.pk}/revoke/", follow=True)
    assert "was removed, with 2 access token(s) and 1 refresh token(s)" in response.content.decode()
    assert not Application.objects.filter(pk=app.pk).exists()
    assert not AccessToken.objects.filter(application_id=app.pk).exists()
    assert not RefreshToken.objects.filter(application_id=app.pk).exists()
    assert not Grant.objects.filter(application_id=app.pk).exists()
    assert AccessToken.objects.count() == 1 and other
    entry = client_change_entries(app.client_id)[0]
    assert entry["revoked"] and entry["access_tokens"] == 2 and entry["actor"] == "boss"
