"""Merging a duplicate chart: everything moves to the survivor, history stays, one transaction, audited."""

from __future__ import annotations

import json

import pytest

from mederi.audit.models import AuditEntry
from mederi.conftest import record_row_counts
from mederi.core.context import Context
from mederi.core.errors import Conflict, Forbidden, InvalidRequest
from mederi.fhir.repository import Repository
from mederi.patients import selectors, services
from mederi.patients.tests.conftest import registration, role_context


@pytest.fixture
def pair(desk):
    survivor = services.register_patient(desk, registration())
    duplicate = services.register_patient(desk, registration(given="Pete", primary_member_id="DUP-1",
                                                             distinct_from=[survivor]))
    repo = Repository(Context.system("test"))
    repo.update("Observation", "obs-dup", {
        "resourceType": "Observation", "id": "obs-dup", "status": "final", "code": {"text": "Body weight"},
        "subject": {"reference": f"Patient/{duplicate}"},
        "valueQuantity": {"value": 80, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}})
    repo.update("Appointment", "appt-dup", {
        "resourceType": "Appointment", "id": "appt-dup", "status": "booked",
        "start": "2026-12-01T15:00:00Z", "end": "2026-12-01T15:20:00Z",
        "participant": [{"actor": {"reference": f"Patient/{duplicate}", "display": "Pete Chalmers"},
                         "status": "accepted"}]})
    return survivor, duplicate


def read(resource_type: str, logical_id: str) -> dict:
    return Repository(Context.system("test")).read(resource_type, logical_id).as_dict()


def test_everything_of_the_duplicate_ends_up_on_the_survivor(admin, pair):
    survivor, duplicate = pair
    preview = selectors.merge_preview(admin, survivor, duplicate)
    assert preview.to_move == {"Appointment": 1, "Consent": 3, "Coverage": 1, "Observation": 1}

    result = services.merge_patients(admin, survivor, duplicate)
    assert len(result.moved) == 6
    assert read("Observation", "obs-dup")["subject"] == {"reference": f"Patient/{survivor}"}
    assert read("Appointment", "appt-dup")["participant"][0]["actor"]["reference"] == f"Patient/{survivor}"
    coverages = Repository(admin).search("Coverage", [("beneficiary", survivor)]).matches
    assert sorted(c.as_dict()["subscriberId"] for c in coverages) == ["ACM123456", "DUP-1"]
    assert Repository(admin).search("Coverage", [("beneficiary", duplicate)]).matches == []

    kept, merged = read("Patient", survivor), read("Patient", duplicate)
    assert merged["active"] is False
    assert merged["link"] == [{"other": {"reference": f"Patient/{survivor}"}, "type": "replaced-by"}]
    assert kept["link"] == [{"other": {"reference": f"Patient/{duplicate}"}, "type": "replaces"}]
    old_mrn = selectors.patient_chart(admin, duplicate, audit_as=None).hit.mrn
    assert {"use": "old", "value": old_mrn}.items() <= kept["identifier"][-1].items()


def test_old_versions_stay_in_the_history(admin, pair):
    survivor, duplicate = pair
    services.merge_patients(admin, survivor, duplicate)
    repo = Repository(admin)
    now = repo.read("Observation", "obs-dup")
    assert now.version_id == 2
    assert repo.vread("Observation", "obs-dup", "1").as_dict()["subject"] == {"reference": f"Patient/{duplicate}"}
    assert repo.vread("Patient", duplicate, "1").as_dict().get("active") is True


def test_the_merge_is_audited(admin, pair):
    survivor, duplicate = pair
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    services.merge_patients(admin, survivor, duplicate)
    entries = list(AuditEntry.objects.filter(id__gt=before).order_by("id"))
    merge_entry = [e for e in entries if e.detail]
    assert len(merge_entry) == 1
    assert merge_entry[0].action == "update" and merge_entry[0].patient_id == survivor
    assert json.loads(merge_entry[0].detail) == {"merged": duplicate, "into": survivor}
    written = " ".join(e.resource_ids for e in entries if not e.detail)
    assert "Observation/obs-dup" in written and f"Patient/{duplicate}" in written


def test_the_merged_chart_is_no_longer_offered(admin, pair):
    survivor, duplicate = pair
    services.merge_patients(admin, survivor, duplicate)
    assert [hit.id for hit in selectors.typeahead(admin, "chalmers")] == [survivor]
    old_mrn = selectors.patient_chart(admin, duplicate, audit_as=None).hit.mrn
    assert [hit.id for hit in selectors.typeahead(admin, old_mrn)] == [survivor]  # the old number finds the survivor


def test_a_merge_that_cannot_finish_changes_nothing(desk, pair):
    """The front desk may not change clinical records: the Observation cannot move, so nothing moves."""
    survivor, duplicate = pair
    assert selectors.merge_preview(desk, survivor, duplicate).hidden == 1
    before = record_row_counts()
    with pytest.raises(Forbidden):
        services.merge_patients(desk, survivor, duplicate)
    assert record_row_counts() == before
    assert read("Patient", duplicate).get("active") is True


def test_merging_twice_or_into_itself_is_refused(admin, pair):
    survivor, duplicate = pair
    with pytest.raises(InvalidRequest):
        services.merge_patients(admin, survivor, survivor)
    services.merge_patients(admin, survivor, duplicate)
    with pytest.raises(Conflict, match="already merged"):
        services.merge_patients(admin, survivor, duplicate)
    with pytest.raises(Conflict, match="keep that chart instead"):
        services.merge_patients(role_context("practice_admin", user_id=7003), duplicate, survivor)
