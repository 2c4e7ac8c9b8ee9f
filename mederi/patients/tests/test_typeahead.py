"""The search box: each kind of text finds the patient, restricted and merged charts stay out, searches are audited."""

from __future__ import annotations

import pytest

from mederi.audit.models import AuditEntry
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.patients import selectors, services
from mederi.patients.tests.conftest import registration, role_context

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


@pytest.fixture
def people(desk):
    Repository(Context.system("test")).create({  # charts brought from an older system: numbering goes on after
        "resourceType": "Patient", "name": [{"family": "Zimmer"}],
        "identifier": [{"system": systems.mrn_system(), "value": "MRN1000"}]})
    ids = {
        "peter": services.register_patient(desk, registration()),
        "maria": services.register_patient(desk, registration(
            family="Núñez", given="María", middle="", birth_date="1988-03-14", gender="female",
            phone="555-330-1212", email="", primary_member_id="ACM777", address_line="1 Lake Ave", contact_name="",
            contact_phone="", contact_relationship="", sms_reminders=False), check_duplicates=False),
        "petra": services.register_patient(desk, registration(
            family="Peterson", given="Petra", middle="", birth_date="1974-12-25", phone="555-444-0001",
            primary_member_id="ACM888", address_line="9 Hill Rd"), check_duplicates=False),
    }
    Repository(Context.system("test")).update("Patient", "secret", {
        "resourceType": "Patient", "id": "secret", "meta": {"security": [{"system": CONFIDENTIALITY, "code": "R"}]},
        "name": [{"family": "Chalmers", "given": ["Hidden"]}], "birthDate": "1974-12-25",
        "telecom": [{"system": "phone", "value": "555-201-7788"}],
        "identifier": [{"system": systems.mrn_system(), "value": "MRN90000"}]})
    return ids


def found(context, text: str) -> list[str]:
    return [hit.id for hit in selectors.typeahead(context, text)]


def mrn_of(context, patient_id: str) -> str:
    return selectors.patient_chart(context, patient_id, audit_as=None).hit.mrn


@pytest.mark.parametrize("text", ["chal", "Chalmers", "pet chal", "Chalmers, Peter", "CHALMERS peter"])
def test_names_by_the_beginning_of_family_or_given(desk, people, text):
    assert found(desk, text) == [people["peter"]]


def test_a_beginning_shared_by_several_finds_all_of_them(desk, people):
    assert set(found(desk, "pet")) == {people["peter"], people["petra"]}
    assert found(desk, "nunez") == [people["maria"]]  # accents need not be typed


@pytest.mark.parametrize("text", ["1974-12-25", "12/25/1974", "12-25-1974", "12/25/74"])
def test_dates_of_birth_in_several_formats(desk, people, text):
    assert set(found(desk, text)) == {people["peter"], people["petra"]}


def test_a_name_with_a_date_of_birth_narrows_it(desk, people):
    assert found(desk, "pet 12/25/1974") == [people["peter"], people["petra"]] or \
        set(found(desk, "pet 12/25/1974")) == {people["peter"], people["petra"]}
    assert found(desk, "chal 1974-12-25") == [people["peter"]]
    assert found(desk, "chal 1975-12-25") == []


@pytest.mark.parametrize("text", ["555-201-7788", "(555) 201-7788", "5552017788", "+1 555 201 7788"])
def test_phone_numbers_compare_by_their_digits(desk, people, text):
    assert found(desk, text) == [people["peter"]]


def test_record_numbers_and_member_ids(desk, people):
    mrn = mrn_of(desk, people["maria"])
    assert found(desk, mrn) == [people["maria"]]
    assert found(desk, mrn.lower()) == [people["maria"]]
    assert found(desk, mrn[3:]) == [people["maria"]]  # the number without its MRN prefix
    assert found(desk, "ACM777") == [people["maria"]]
    assert found(desk, "acm777") == [people["maria"]]
    hit = selectors.typeahead(desk, "ACM777")[0]
    assert hit.matched == "member id" and hit.birth_date == "1988-03-14" and hit.mrn == mrn
    assert hit.phone == "555-330-1212" and hit.name == "Núñez, María"


def test_someone_who_may_not_see_insurance_cannot_search_by_member_id(people):
    auditor = role_context("auditor", user_id=7020)
    assert found(auditor, "ACM777") == []
    assert found(auditor, "nunez") == [people["maria"]]


def test_restricted_charts_stay_hidden(desk, people):
    assert "secret" not in found(desk, "chal") + found(desk, "555-201-7788") + found(desk, "MRN90000")
    broke_glass = role_context("front_desk", emergency_patients=frozenset({"secret"}))
    assert "secret" in found(broke_glass, "chal")


def test_too_little_text_searches_nothing(desk, people):
    assert selectors.typeahead(desk, "c") == []
    assert selectors.typeahead(desk, "  ") == []


def test_limit_caps_the_list(desk, people):
    assert len(selectors.typeahead(desk, "pet", limit=1)) == 1


def test_each_search_is_audited_with_the_ids_shown(desk, people):
    before = AuditEntry.objects.count()
    selectors.typeahead(desk, "pet")
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == "search" and entry.actor_name == "front_desk-user"
    assert set(entry.resource_ids.split()) == {f"Patient/{people['peter']}", f"Patient/{people['petra']}"}
    assert "pet" in entry.query


def test_possible_duplicates_are_found_from_birth_date_phone_or_name(desk, people):
    for changes in ({}, {"given": "Pete", "birth_date": "12/25/1974"}, {"family": "Chalmres"},
                    {"birth_date": "1974-12-26", "family": "Chalmers"}):
        matches = selectors.possible_duplicates(desk, registration(**changes))
        assert [m.id for m in matches][:1] == [people["peter"]], changes
    assert selectors.possible_duplicates(desk, registration(family="Zed", given="Zoe", birth_date="2001-01-01",
                                                            phone="555-000-1111", address_line="2 Elm")) == []
    assert "secret" not in [m.id for m in selectors.possible_duplicates(desk, registration())]
