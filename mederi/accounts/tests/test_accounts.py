"""Staff sign-in, lockout, idle logoff, roles and deactivation, as a person meets them."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from mederi.accounts import permissions, selectors, services
from mederi.core.errors import InvalidRequest, MederiError

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def nurse(db):
    services.ensure_default_roles()
    return services.create_staff_user("nurse1", PASSWORD, "Nora Nurse", roles=["nurse"], mfa_required=False)


def sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_passwords_are_stored_with_argon2(nurse):
    assert get_user_model().objects.get(username="nurse1").password.startswith("argon2$argon2id$")


def test_sign_in_shows_the_person_and_their_roles_and_rotates_the_session(nurse):
    client = Client()
    client.get("/accounts/login/")
    before = client.session.session_key
    response = sign_in(client, "nurse1", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session.session_key != before
    page = client.get("/")
    assert b"Nora Nurse" in page.content and b"Your roles: Nurse" in page.content


def test_pages_need_a_signed_in_person(db):
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_wrong_password_says_what_to_do(nurse):
    response = sign_in(Client(), "nurse1", "not-the-password")
    assert response.status_code == 200
    assert b"do not match" in response.content and b"locked for 15 minutes" in response.content


def test_five_failures_lock_the_account_even_for_the_right_password(nurse):
    client = Client()
    for _ in range(5):
        sign_in(client, "nurse1", "wrong-password-x")
    response = sign_in(client, "nurse1", PASSWORD)
    assert response.status_code == 429
    assert b"Account locked" in response.content
    assert "_auth_user_id" not in client.session


def test_login_form_refuses_a_post_without_its_csrf_token(nurse):
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, "nurse1", PASSWORD).status_code == 403


@override_settings(MEDERI_IDLE_TIMEOUT_SECONDS=60)
def test_an_idle_session_is_signed_out(nurse):
    client = Client()
    sign_in(client, "nurse1", PASSWORD)
    assert client.get("/").status_code == 200
    session = client.session
    session["mederi_last_seen"] -= 61
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 302  # stays signed out


def test_pages_carry_security_headers(nurse):
    response = Client().get("/accounts/login/")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_pages_and_api_answers_are_never_cached(nurse, fhir):
    client = Client()
    sign_in(client, "nurse1", PASSWORD)
    assert client.get("/")["Cache-Control"] == "no-store"
    patient = fhir.create({"resourceType": "Patient", "name": [{"family": "Cache"}]})
    assert fhir.get(f"/fhir/R4/Patient/{patient['id']}")["Cache-Control"] == "no-store"
    assert fhir.get("/fhir/R4/Patient?name=cache")["Cache-Control"] == "no-store"


def test_deactivating_a_user_ends_every_session_at_once(nurse):
    desk, phone = Client(), Client()
    sign_in(desk, "nurse1", PASSWORD)
    sign_in(phone, "nurse1", PASSWORD)
    assert desk.get("/").status_code == 200
    assert services.deactivate_user(nurse) == 2
    assert desk.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    response = sign_in(Client(), "nurse1", PASSWORD)
    assert "_auth_user_id" not in response.wsgi_request.session
    assert selectors.permissions_for(get_user_model().objects.get(pk=nurse.pk)) == frozenset()


def test_password_policy_refuses_short_and_common_passwords(db):
    with pytest.raises(MederiError) as error:
        services.create_staff_user("x", "short", "X")
    assert "at least 12 characters" in str(error.value)
    assert not get_user_model().objects.filter(username="x").exists()


def test_shipped_roles_grant_what_each_job_needs(db):
    roles = {r.slug: set(r.permissions) for r in services.ensure_default_roles()}
    assert "clinical.read" not in roles["front_desk"]
    assert {"demographics.write", "scheduling.write", "insurance.write"} <= roles["front_desk"]
    assert {"notes.sign", "record.break_glass", "clinical.write"} <= roles["physician"]
    assert "notes.sign" not in roles["nurse"]
    assert {"payments.post", "financial.write", "clinical.read"} <= roles["biller"]
    assert "clinical.write" not in roles["biller"]
    assert roles["auditor"] >= {"audit.view"} and "clinical.read" not in roles["auditor"]
    assert {"accounts.manage", "audit.view"} <= roles["practice_admin"]


def test_every_interaction_on_every_type_maps_to_a_known_permission():
    from mederi.fhir.validation import RESOURCE_TYPES

    known = permissions.all_permissions()
    for resource_type in RESOURCE_TYPES:
        for interaction in permissions.ACCESS_BY_INTERACTION:
            assert permissions.permission_for(resource_type, interaction) in known
    assert permissions.permission_for("Observation", "search") == "clinical.read"
    assert permissions.permission_for("Patient", "update") == "demographics.write"
    assert permissions.permission_for("Claim", "create") == "financial.write"
    assert permissions.permission_for("CodeSystem", "read") == "definitions.read"


def test_custom_roles_take_only_known_permissions(nurse):
    with pytest.raises(MederiError, match="unknown permissions: clinical.fly"):
        services.create_role("flyer", "Flyer", ["clinical.fly"])
    role = services.create_role("desk_plus", "Front desk with copays", ["demographics.read", "payments.post"])
    services.assign_role(nurse, role.slug)
    assert "payments.post" in selectors.permissions_for(nurse)
    with pytest.raises(MederiError, match="shipped role"):
        services.update_role(services.ensure_default_roles()[0], ["clinical.read"])


def test_roles_can_be_limited_to_one_location(db):
    services.ensure_default_roles()
    user = services.create_staff_user("float", PASSWORD, "Flo Ater", roles=[("biller", "north")])
    assert "payments.post" in selectors.permissions_for(user, "north")
    assert "payments.post" not in selectors.permissions_for(user, "south")


def test_the_last_administrator_cannot_be_removed_or_deactivated(db):
    services.ensure_default_roles()
    admin = services.create_staff_user("soleadmin", "correct horse battery staple", "Sole Admin",
                                       roles=["practice_admin"], mfa_required=False)
    with pytest.raises(InvalidRequest, match="nobody able to manage accounts"):
        services.remove_role(admin, "practice_admin")
    with pytest.raises(InvalidRequest, match="nobody able to manage accounts"):
        services.deactivate_user(admin)
    admin.refresh_from_db()
    assert admin.is_active and admin.role_assignments.filter(role__slug="practice_admin").exists()
    # With a second administrator, the first may go.
    services.create_staff_user("secondadmin", "correct horse battery staple", "Second Admin",
                               roles=["practice_admin"], mfa_required=False)
    services.deactivate_user(admin)
    admin.refresh_from_db()
    assert not admin.is_active
