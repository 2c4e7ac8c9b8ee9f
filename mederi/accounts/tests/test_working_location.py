"""Roles given for one location apply while their holder works there."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.accounts import services
from mederi.accounts.context import context_for_token
from mederi.accounts.selectors import permissions_for
from mederi.conftest import FhirClient, oauth_application
from mederi.core.context import Context
from mederi.fhir.repository import Repository

PASSWORD = "correct horse battery staple"
NORTH, SOUTH = "loc-north", "loc-south"

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinics():
    repo = Repository(Context.system())
    for key, name in ((NORTH, "North clinic"), (SOUTH, "South clinic")):
        repo.create({"resourceType": "Location", "status": "active", "name": name}, logical_id=key)
    repo.create({"resourceType": "Patient", "name": [{"family": "Moreno"}]}, logical_id="p1")
    repo.create({"resourceType": "Observation", "status": "final", "code": {"text": "Pulse"},
                 "subject": {"reference": "Patient/p1"}}, logical_id="o1")
    services.ensure_default_roles()


@pytest.fixture
def two_clinics_user(clinics):
    """Auditor at the north clinic, practice administrator at the south one."""
    return services.create_staff_user("rover", PASSWORD, "Rita Rover", mfa_required=False,
                                      roles=[("auditor", NORTH), ("practice_admin", SOUTH)])


def _signed_in(username: str) -> Client:
    browser = Client()
    answer = browser.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.content
    return browser


def test_roles_apply_where_they_were_given(two_clinics_user):
    assert "audit.view" in permissions_for(two_clinics_user, NORTH)
    assert "accounts.manage" not in permissions_for(two_clinics_user, NORTH)
    assert "accounts.manage" in permissions_for(two_clinics_user, SOUTH)
    assert "audit.view" in permissions_for(two_clinics_user, SOUTH)  # the administrator role has it too
    assert permissions_for(two_clinics_user, "loc-elsewhere") == frozenset()
    # No location chosen and two possible: neither location's roles apply.
    assert permissions_for(two_clinics_user) == frozenset()


def test_a_role_at_one_place_only_needs_no_choice(clinics):
    nurse = services.create_staff_user("nell", PASSWORD, "Nell", mfa_required=False,
                                       roles=[("nurse", NORTH), "auditor"])
    assert {"clinical.read", "audit.view"} <= permissions_for(nurse)
    assert "clinical.read" not in permissions_for(nurse, SOUTH)
    browser = _signed_in("nell")
    assert browser.get("/").status_code == 200  # not asked where she works
    assert browser.get("/audit/").status_code == 200


def test_sign_in_asks_where_one_works_and_the_choice_decides_what_pages_allow(two_clinics_user):
    browser = _signed_in("rover")
    asked = browser.get("/audit/")
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/location/?next=%2Faudit%2F")
    page = browser.get(asked["Location"])
    assert b"North clinic" in page.content and b"South clinic" in page.content

    chosen = browser.post("/accounts/location/", {"location": NORTH, "next": "/audit/"})
    assert chosen.status_code == 302 and chosen["Location"] == "/audit/"
    assert browser.get("/audit/").status_code == 200
    assert browser.get("/accounts/admin/users/").status_code == 403
    assert b"North clinic" in browser.get("/").content  # the header says where one works

    browser.post("/accounts/location/", {"location": SOUTH, "next": "/"})
    assert browser.get("/accounts/admin/users/").status_code == 200


def test_a_location_without_a_role_of_ones_own_is_refused(two_clinics_user):
    Repository(Context.system()).create({"resourceType": "Location", "name": "West"}, logical_id="loc-west")
    browser = _signed_in("rover")
    browser.post("/accounts/location/", {"location": NORTH})
    refused = browser.post("/accounts/location/", {"location": "loc-west"})
    assert refused.status_code == 400
    assert b"Choose one of the locations listed" in refused.content
    assert browser.get("/audit/").status_code == 200  # still at the north clinic
    assert browser.get("/accounts/admin/users/").status_code == 403


def test_a_token_carries_the_location_it_was_issued_for(two_clinics_user):
    application = oauth_application()
    north = services.issue_access_token(two_clinics_user, application, "user/*.rs", location_id=NORTH)
    south = services.issue_access_token(two_clinics_user, application, "user/*.rs", location_id=SOUTH)
    assert context_for_token(north).location_id == NORTH
    # The auditor may read demographics but no clinical records; the administrator may read both.
    assert FhirClient(north).get("/fhir/R4/Patient/p1").status_code == 200
    assert FhirClient(north).get("/fhir/R4/Observation/o1").status_code == 403
    assert FhirClient(south).get("/fhir/R4/Observation/o1").status_code == 200
