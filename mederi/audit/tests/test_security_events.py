"""Sign-ins, sign-outs, failures, lockouts and changes of access each leave one audit entry."""

import json

import pytest
from django.test import Client

from mederi.accounts import services
from mederi.audit import selectors
from mederi.audit.tests.helpers import last_id, since
from mederi.core.context import Context

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def nurse(db):
    services.ensure_default_roles()
    return services.create_staff_user("nurse1", PASSWORD, "Nora Nurse", roles=["nurse"], mfa_required=False)


def sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       REMOTE_ADDR="10.1.2.3")


def only(mark: int):
    entries = since(mark)
    assert len(entries) == 1, [str(e) for e in entries]
    return entries[0]


def test_a_sign_in_is_logged_with_the_person_role_and_address(nurse):
    mark = last_id()
    response = sign_in(Client(), "nurse1", PASSWORD)
    assert response.status_code == 302
    entry = only(mark)
    assert (entry.action, entry.outcome) == ("login", "success")
    assert (entry.actor_user_id, entry.actor_name, entry.actor_role) == (nurse.pk, "nurse1", "nurse")
    assert entry.remote_addr == "10.1.2.3"


def test_a_failed_sign_in_names_the_username_but_never_the_password(nurse):
    mark = last_id()
    response = sign_in(Client(), "nurse1", "a-wrong-secret-guess")
    assert response.status_code == 200
    entry = only(mark)
    assert (entry.action, entry.outcome, entry.actor_user_id) == ("login-failed", "denied", None)
    assert json.loads(entry.detail) == {"username": "nurse1"}
    assert "a-wrong-secret-guess" not in entry.detail + entry.query


def test_a_sign_in_as_nobody_known_is_logged_too(db):
    mark = last_id()
    sign_in(Client(), "no-such-person", "whatever-password-1")
    entry = only(mark)
    assert entry.action == "login-failed" and json.loads(entry.detail)["username"] == "no-such-person"


def test_the_lockout_is_logged_once_per_attempt(nurse):
    client = Client()
    mark = last_id()
    for _ in range(4):
        sign_in(client, "nurse1", "wrong-password-x")
    assert [json.loads(e.detail) for e in since(mark)] == [{"username": "nurse1"}] * 4
    mark = last_id()
    sign_in(client, "nurse1", "wrong-password-x")  # the fifth failure locks the account
    entry = only(mark)
    assert entry.action == "login-failed" and json.loads(entry.detail) == {"locked_out": True, "username": "nurse1"}
    mark = last_id()
    assert sign_in(client, "nurse1", PASSWORD).status_code == 429  # even the right password, while locked
    entry = only(mark)
    assert entry.action == "login-failed" and json.loads(entry.detail)["locked_out"] is True


def test_a_sign_out_is_logged(nurse):
    client = Client()
    sign_in(client, "nurse1", PASSWORD)
    mark = last_id()
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    entry = only(mark)
    assert (entry.action, entry.actor_name, entry.actor_user_id) == ("logout", "nurse1", nurse.pk)


def test_signing_out_when_not_signed_in_logs_nothing(db):
    mark = last_id()
    Client().post("/accounts/logout/")
    assert since(mark) == []


def test_role_changes_are_logged_only_when_something_changes(nurse):
    admin = Context(user_id=99, user_name="boss", role="practice_admin", remote_addr="10.0.0.9")
    mark = last_id()
    services.assign_role(nurse, "front_desk", actor=admin)
    entry = only(mark)
    assert (entry.action, entry.actor_name, entry.actor_role) == ("role-change", "boss", "practice_admin")
    assert json.loads(entry.detail) == {"user": "nurse1", "assigned": "front_desk", "location": ""}

    mark = last_id()
    services.assign_role(nurse, "front_desk", actor=admin)  # already held: nothing changes
    services.remove_role(nurse, "biller", actor=admin)  # never held
    assert since(mark) == []

    services.remove_role(nurse, "front_desk", actor=admin)
    assert json.loads(only(mark).detail) == {"user": "nurse1", "removed": "front_desk", "location": ""}


def test_custom_roles_are_logged_when_made_and_changed(db):
    mark = last_id()
    role = services.create_role("desk_plus", "Front desk plus", ["demographics.read"])
    entry = only(mark)
    assert entry.actor_name == "system:accounts" and entry.actor_role == "system"
    assert json.loads(entry.detail) == {"role": "desk_plus", "created": True, "permissions": ["demographics.read"]}

    mark = last_id()
    services.update_role(role, ["demographics.read"])  # the same permissions
    assert since(mark) == []
    services.update_role(role, ["payments.post"])
    assert json.loads(only(mark).detail) == {"role": "desk_plus", "added": ["payments.post"],
                                             "removed": ["demographics.read"]}


def test_deactivation_is_logged_with_the_sessions_it_ended(nurse):
    desk, phone = Client(), Client()
    sign_in(desk, "nurse1", PASSWORD)
    sign_in(phone, "nurse1", PASSWORD)
    mark = last_id()
    assert services.deactivate_user(nurse) == 2
    entry = only(mark)
    assert entry.action == "role-change"
    assert json.loads(entry.detail) == {"user": "nurse1", "deactivated": True, "sessions_ended": 2,
                                        "tokens_revoked": 0, "refresh_tokens_revoked": 0}
    assert selectors.verify_chain().ok


def test_every_security_event_reads_as_a_fhir_audit_event(nurse):
    client = Client()
    sign_in(client, "nurse1", "wrong-password-x")
    sign_in(client, "nurse1", PASSWORD)
    client.post("/accounts/logout/")
    services.deactivate_user(nurse)
    events = [selectors.as_fhir_audit_event(e) for e in since(0) if e.action != "create"]
    subtypes = [e.get("subtype", [{}])[0].get("display") for e in events]
    assert subtypes[-4:] == ["Login", "Login", "Logout", "User security Attributes Changed"]
    assert [e["outcome"] for e in events[-4:]] == ["8", "0", "0", "0"]
    assert selectors.verify_chain().ok
