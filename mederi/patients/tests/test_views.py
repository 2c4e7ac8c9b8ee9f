"""The registration pages as staff meet them: who may do what, forms that keep input and store nothing on error."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.audit.models import AuditEntry
from mederi.conftest import record_row_counts, staff_user
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.patients import services
from mederi.patients.tests.conftest import registration

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


def signed_in(username: str, *roles: str) -> Client:
    client = Client()
    client.force_login(staff_user(username, *roles))
    return client


@pytest.fixture
def desk_client(payers) -> Client:
    return signed_in("fran", "front_desk")


@pytest.fixture
def peter(desk) -> str:
    return services.register_patient(desk, registration())


def form_data(**changes) -> dict:
    data = {k: ("on" if v is True else "" if v is False else v) for k, v in registration(**changes).items()}
    return {k: v for k, v in data.items() if v != ""}


def test_a_biller_cannot_register_but_the_front_desk_can(payers):
    assert signed_in("bill", "biller").get("/patients/new").status_code == 403
    page = signed_in("fran", "front_desk").get("/patients/new")
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("Family (last) name", "Date of birth", "Primary insurance", "Acme Health Plan",
                  "May send appointment reminders by text message"):
        assert label in html


def test_registering_leads_to_the_new_patient_page(desk_client):
    response = desk_client.post("/patients/new", form_data())
    assert response.status_code == 302
    page = desk_client.get(response["Location"])
    html = page.content.decode()
    assert "Peter James Chalmers" in html and "ACM123456" in html and "The patient is registered." in html


def test_a_bad_form_keeps_what_was_typed_says_why_at_the_field_and_stores_nothing(desk_client):
    before = record_row_counts()
    response = desk_client.post("/patients/new", form_data(birth_date="13/45/1990", email="peter@",
                                                           secondary_payer="payer-medicare",
                                                           primary_payer="", primary_member_id="",
                                                           primary_group_number=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert record_row_counts() == before
    assert "Nothing was saved" in html
    assert "&#x27;13/45/1990&#x27; is not a date of birth" in html and 'value="13/45/1990"' in html
    assert "is not an email address" in html
    assert "Enter the primary insurance before a secondary one." in html
    assert html.count('role="alert"') >= 3


def test_a_possible_duplicate_is_shown_and_saving_needs_a_confirmation(desk_client, peter):
    prompt = desk_client.post("/patients/new/duplicates", {"family": "Chalmers", "given": "Pete",
                                                           "birth_date": "12/25/1974"})
    assert prompt.status_code == 200
    assert "Possible match:" in prompt.content.decode() and f'value="{peter}"' in prompt.content.decode()

    before = record_row_counts()
    refused = desk_client.post("/patients/new", form_data(given="Pete", primary_member_id="NEW1"))
    assert refused.status_code == 400 and "This is a different person" in refused.content.decode()
    assert record_row_counts() == before
    saved = desk_client.post("/patients/new", {**form_data(given="Pete", primary_member_id="NEW1"),
                                               "distinct_from": [peter]})
    assert saved.status_code == 302


def test_search_as_you_type_returns_a_list_of_links(desk_client, peter):
    partial = desk_client.get("/patients/", {"q": "chal"}, headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in html
    assert f'href="/patients/{peter}/"' in html and "Chalmers, Peter James" in html
    page = desk_client.get("/patients/", {"q": "12/25/1974"})
    assert "<html" in page.content.decode() and f'/patients/{peter}/' in page.content.decode()
    assert "No patient matches" in desk_client.get("/patients/", {"q": "zzzz"}).content.decode()
    entry = AuditEntry.objects.filter(action="search").order_by("-id").first()
    assert "zzzz" in entry.query


def test_the_patient_page_includes_eligibility_and_appointments_and_is_audited(desk_client, peter):
    response = desk_client.get(f"/patients/{peter}/")
    html = response.content.decode()
    assert response.status_code == 200
    coverage_id = Repository(Context.system("t")).search("Coverage", [("beneficiary", peter)]).matches[0].logical_id
    assert f'hx-get="/billing/eligibility/coverage/{coverage_id}" hx-trigger="load"' in html
    assert f'hx-get="/schedule/patients/{peter}/appointments" hx-trigger="load"' in html
    assert "Rose Chalmers" in html and "Consent to treat" in html
    entry = AuditEntry.objects.filter(action="read", patient_id=peter).order_by("-id").first()
    assert f"Patient/{peter}" in entry.resource_ids and f"Coverage/{coverage_id}" in entry.resource_ids


def test_unknown_and_restricted_patients(desk_client):
    assert desk_client.get("/patients/nobody/").status_code == 404
    Repository(Context.system("t")).update("Patient", "secret", {
        "resourceType": "Patient", "id": "secret", "name": [{"family": "Hidden"}],
        "meta": {"security": [{"system": CONFIDENTIALITY, "code": "R"}]}})
    refused = desk_client.get("/patients/secret/")
    assert refused.status_code == 403 and b"Hidden" not in refused.content


def test_editing_keeps_the_form_filled_and_saves(desk_client, peter):
    page = desk_client.get(f"/patients/{peter}/edit")
    html = page.content.decode()
    assert 'value="Chalmers"' in html and 'value="ACM123456"' in html and 'name="version" value="1"' in html
    fields = {**form_data(), "version": "1", "city": "Shelbyville"}
    assert desk_client.post(f"/patients/{peter}/edit", fields).status_code == 302
    stale = desk_client.post(f"/patients/{peter}/edit", {**fields, "city": "Capital City"})
    assert stale.status_code == 400 and "Someone changed this patient" in stale.content.decode()
    bad = desk_client.post(f"/patients/{peter}/edit", {**fields, "version": "2", "phone": "12"})
    assert bad.status_code == 400 and "is not a phone number" in bad.content.decode()


def test_only_someone_who_may_delete_demographics_can_merge(payers, desk, peter):
    duplicate = services.register_patient(desk, registration(given="Pete", distinct_from=[peter]))
    assert signed_in("fran", "front_desk").get("/patients/merge").status_code == 403
    admin = signed_in("adele", "practice_admin")
    preview = admin.get("/patients/merge", {"survivor": peter, "duplicate": duplicate})
    html = preview.content.decode()
    assert preview.status_code == 200 and "Side by side" in html and "Coverage" in html
    done = admin.post("/patients/merge", {"survivor": peter, "duplicate": duplicate, "confirm": "merge"})
    assert done.status_code == 302 and done["Location"] == f"/patients/{peter}/"
    merged = admin.get(f"/patients/{duplicate}/").content.decode()
    assert "This chart was merged into" in merged
    again = admin.get("/patients/merge", {"survivor": peter, "duplicate": duplicate})
    assert again.status_code == 400 and "already merged" in again.content.decode()
    same = admin.get("/patients/merge", {"survivor": peter, "duplicate": peter})
    assert same.status_code == 400 and "cannot be merged into itself" in same.content.decode()


def test_someone_who_may_not_record_insurance_edits_demographics_and_the_insurance_stays(payers, peter):
    nurse = signed_in("nina", "nurse")
    page = nurse.get(f"/patients/{peter}/edit").content.decode()
    assert "Primary insurance" not in page and "Your roles do not allow you to record insurance" in page
    fields = {k: v for k, v in form_data(city="Shelbyville").items() if not k.startswith(("primary_", "secondary_"))}
    assert nurse.post(f"/patients/{peter}/edit", {**fields, "version": "1"}).status_code == 302
    coverages = Repository(Context.system("t")).search("Coverage", [("beneficiary", peter)]).matches
    assert [c.as_dict()["status"] for c in coverages] == ["active"]
