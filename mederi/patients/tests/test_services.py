"""Registering, editing and the rules that keep bad input out: all or nothing, messages at the field."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mederi.audit.models import AuditEntry
from mederi.conftest import record_row_counts
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import Forbidden, PreconditionFailed
from mederi.fhir.repository import Repository
from mederi.patients import selectors, services
from mederi.patients.rules import RegistrationInvalid
from mederi.patients.tests.conftest import registration, role_context


def search(resource_type: str, *params) -> list[dict]:
    result = Repository(Context.system("test")).search(resource_type, [*params, ("_count", "100")])
    return [m.as_dict() for m in result.matches]


def fields_of(error: RegistrationInvalid) -> dict[str, str]:
    return {issue.expression: issue.diagnostics for issue in error.issues}


def test_a_registration_stores_patient_coverage_and_consents_together(desk):
    patient_id = services.register_patient(desk, registration())
    patient = Repository(desk).read("Patient", patient_id).as_dict()
    assert patient["name"][0] == {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}
    assert patient["birthDate"] == "1974-12-25"
    assert {"system": "phone", "value": "555-201-7788", "use": "mobile"} in patient["telecom"]
    mrn = [i for i in patient["identifier"] if i["system"] == systems.mrn_system()][0]
    assert mrn["value"].startswith("MRN") and mrn["type"]["coding"][0]["code"] == "MR"
    contact = patient["contact"][0]
    assert contact["relationship"][0]["coding"][0]["code"] == "C" and contact["name"]["text"] == "Rose Chalmers"

    [coverage] = search("Coverage", ("beneficiary", patient_id))
    assert coverage["payor"] == [{"reference": "Organization/payer-acme", "display": "Acme Health Plan"}]
    assert coverage["subscriberId"] == "ACM123456" and coverage["order"] == 1
    assert coverage["subscriber"] == {"reference": f"Patient/{patient_id}"}
    assert coverage["relationship"]["coding"][0]["code"] == "self"
    assert coverage["class"][0]["value"] == "G-100"
    # the member id on the card finds the coverage
    assert [c["id"] for c in search("Coverage", ("identifier", f"{systems.MEMBER_ID}|ACM123456"))] == [coverage["id"]]

    consents = search("Consent", ("patient", patient_id))
    assert sorted(c["policyRule"]["text"] for c in consents) == [
        "Appointment reminders", "Consent to treat", "Notice of privacy practices (HIPAA) acknowledged"]
    assert selectors.contact_preferences(desk, patient_id) == {"sms": True, "email": False}


def test_record_numbers_are_new_and_different(desk):
    first = services.register_patient(desk, registration())
    second = services.register_patient(desk, registration(family="Okafor", given="Ada", birth_date="1990-01-02",
                                                          phone="", sms_reminders=False, primary_member_id="X9"))
    mrns = [selectors.patient_chart(desk, pid, audit_as=None).hit.mrn for pid in (first, second)]
    assert mrns[0] != mrns[1]
    assert int(mrns[1][3:]) == int(mrns[0][3:]) + 1


def test_numbering_continues_after_imported_record_numbers(desk):
    Repository(Context.system("test")).create({
        "resourceType": "Patient", "name": [{"family": "Imported"}],
        "identifier": [{"system": systems.mrn_system(), "value": "MRN5000"}]})
    assert services.allocate_mrns(2) == ["MRN5001", "MRN5002"]


def test_guarantor_and_subscriber_who_is_not_the_patient(desk):
    data = registration(
        family="Lindqvist", given="Erik", birth_date="2016-10-30", guarantor="MTH", guarantor_family="Lindqvist",
        guarantor_given="Anna", guarantor_phone="555-300-1000", primary_subscriber_relationship="child",
        primary_subscriber_family="Lindqvist", primary_subscriber_given="Anna",
        primary_subscriber_birth_date="03/04/1985", secondary_payer="payer-medicare",
        secondary_member_id="MED-77", secondary_subscriber_relationship="self", sms_reminders=False)
    patient_id = services.register_patient(desk, data)
    people = search("RelatedPerson", ("patient", patient_id))
    assert len(people) == 1  # the mother is guarantor and subscriber: one person
    mother = people[0]
    codes = {c["code"] for r in mother["relationship"] for c in r["coding"]}
    assert codes == {"MTH", "GUAR", "SUBSCR"}
    assert mother["birthDate"] == "1985-03-04"
    coverages = sorted(search("Coverage", ("beneficiary", patient_id)), key=lambda c: c["order"])
    assert [c["order"] for c in coverages] == [1, 2]
    assert coverages[0]["subscriber"] == {"reference": f"RelatedPerson/{mother['id']}"}
    assert coverages[0]["relationship"]["coding"][0]["code"] == "child"
    assert coverages[1]["subscriber"] == {"reference": f"Patient/{patient_id}"}
    chart = selectors.patient_chart(desk, patient_id, audit_as=None)
    assert [g["id"] for g in chart.guarantors] == [mother["id"]]


@pytest.mark.parametrize("changes, field, words", [
    ({"family": " "}, "family", "family (last) name"),
    ({"given": ""}, "given", "given (first) name"),
    ({"birth_date": "02/30/1990"}, "birth_date", "is not a date of birth"),
    ({"birth_date": (date.today() + timedelta(days=3)).isoformat()}, "birth_date", "in the future"),
    ({"birth_date": "1850-01-01"}, "birth_date", "more than 130 years ago"),
    ({"phone": "555-12"}, "phone", "is not a phone number"),
    ({"email": "peter@"}, "email", "is not an email address"),
    ({"postal_code": "6270"}, "postal_code", "ZIP"),
    ({"contact_phone": ""}, "contact_phone", "phone number for the emergency contact"),
    ({"primary_payer": "", "primary_member_id": "", "primary_group_number": "",
      "secondary_payer": "payer-medicare", "secondary_member_id": "M1"}, "secondary_payer", "primary insurance"),
    ({"primary_subscriber_relationship": "spouse"}, "primary_subscriber_family", "subscriber's family name"),
    ({"primary_subscriber_relationship": "spouse", "primary_subscriber_family": "Chalmers",
      "primary_subscriber_given": "Rose"}, "primary_subscriber_birth_date", "subscriber's date of birth"),
    ({"primary_member_id": ""}, "primary_member_id", "member id"),
    ({"primary_payer": "payer-nobody"}, "primary_payer", "not a payer"),
    ({"guarantor": "SPS"}, "guarantor_family", "guarantor's family name"),
    ({"phone": "", "sms_reminders": True}, "sms_reminders", "mobile phone"),
    ({"email": "", "email_reminders": True}, "email_reminders", "email address"),
])
def test_bad_input_is_refused_at_its_field_and_nothing_is_stored(desk, changes, field, words):
    before = record_row_counts()
    audit_before = AuditEntry.objects.count()
    with pytest.raises(RegistrationInvalid) as caught:
        services.register_patient(desk, registration(**changes))
    assert words in fields_of(caught.value)[field]
    assert record_row_counts() == before
    assert AuditEntry.objects.count() == audit_before


def test_every_problem_is_reported_at_once(desk):
    with pytest.raises(RegistrationInvalid) as caught:
        services.register_patient(desk, registration(family="", birth_date="tomorrow", email="nope"))
    assert {"family", "birth_date", "email"} <= set(fields_of(caught.value))


def test_a_refused_write_halfway_leaves_nothing(desk, payers):
    """A nurse may write patients but not insurance: the Patient is not stored without its Coverage."""
    nurse = role_context("nurse", user_id=7010)
    before = record_row_counts()
    with pytest.raises(Forbidden):
        services.register_patient(nurse, registration(), check_duplicates=False)
    assert record_row_counts() == before


def test_a_likely_duplicate_needs_confirmation(desk):
    first = services.register_patient(desk, registration())
    before = record_row_counts()
    with pytest.raises(services.PossibleDuplicate) as caught:
        services.register_patient(desk, registration(given="Pete", phone="555 201 7788", primary_member_id="B2"))
    assert [m.id for m in caught.value.matches] == [first]
    assert "different person" in caught.value.issues[0].diagnostics
    assert record_row_counts() == before
    second = services.register_patient(desk, registration(given="Pete", primary_member_id="B2",
                                                          distinct_from=[first]))
    assert second != first


def test_update_changes_demographics_and_coverage_and_keeps_the_rest(desk):
    patient_id = services.register_patient(desk, registration())
    chart = selectors.patient_chart(desk, patient_id, audit_as=None)
    fields = chart.form_fields()
    assert fields["primary_member_id"] == "ACM123456" and fields["contact_name"] == "Rose Chalmers"
    fields.update(family="Chalmers-Smith", phone="555-201-0000", primary_member_id="ACM999",
                  secondary_payer="payer-medicare", secondary_member_id="MED1")
    services.update_patient(desk, patient_id, fields, version=chart.version)
    after = selectors.patient_chart(desk, patient_id, audit_as=None)
    assert after.version == chart.version + 1
    assert after.hit.name.startswith("Chalmers-Smith") and after.hit.mrn == chart.hit.mrn
    assert [(c.order, c.member_id) for c in after.coverages] == [("Primary", "ACM999"), ("Secondary", "MED1")]
    assert after.coverages[0].id == chart.coverages[0].id  # the same Coverage, a new version
    # dropping the secondary ends it, it is not deleted
    fields = after.form_fields()
    fields.update(secondary_payer="", secondary_member_id="", secondary_group_number="")
    services.update_patient(desk, patient_id, fields, version=after.version)
    final = selectors.patient_chart(desk, patient_id, audit_as=None)
    assert [(c.order, c.status) for c in final.coverages] == [("Primary", "active"), ("Secondary", "cancelled")]


def test_update_from_a_stale_form_is_refused(desk):
    patient_id = services.register_patient(desk, registration())
    chart = selectors.patient_chart(desk, patient_id, audit_as=None)
    services.update_patient(desk, patient_id, {**chart.form_fields(), "city": "Shelbyville"}, version=chart.version)
    before = record_row_counts()
    with pytest.raises(PreconditionFailed):
        services.update_patient(desk, patient_id, {**chart.form_fields(), "city": "Capital City"},
                                version=chart.version)
    assert record_row_counts() == before


def test_update_with_bad_input_stores_nothing(desk):
    patient_id = services.register_patient(desk, registration())
    chart = selectors.patient_chart(desk, patient_id, audit_as=None)
    before = record_row_counts()
    with pytest.raises(RegistrationInvalid) as caught:
        services.update_patient(desk, patient_id, {**chart.form_fields(), "birth_date": "2099-01-01"})
    assert "future" in fields_of(caught.value)["birth_date"]
    assert record_row_counts() == before
