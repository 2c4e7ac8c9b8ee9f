"""Suggestions for a note: stored as drafts with their Provenance, accepted or rejected by a person."""

import pytest
from django.test import Client

from mederi.ai import selectors, services
from mederi.ai.models import Suggestion
from mederi.ai.tests.conftest import write_note
from mederi.audit.models import AuditEntry
from mederi.clinical.notes.tests.conftest import system_repo
from mederi.conftest import record_row_counts, staff_user
from mederi.core.errors import InvalidRequest

pytestmark = pytest.mark.django_db


def test_a_run_stores_drafts_with_the_engine_and_the_note_version_in_provenance(doctor, note):
    rows = services.suggest_for_note(doctor, note)

    diagnoses = [r.code for r in rows if r.kind == "diagnosis"]
    assert {"J20.9", "I10", "R05.9", "R50.9"} <= set(diagnoses)
    assert "R07.9" not in diagnoses and "E11.9" not in diagnoses  # denied, no history of
    assert [r.code for r in rows if r.kind == "visit-level"] == ["99213"]  # 25 minutes, established
    assert all(r.status == Suggestion.DRAFT for r in rows)
    provenance = system_repo().read("Provenance", rows[0].provenance_id).as_dict()
    assert provenance["target"] == [{"reference": f"GuidanceResponse/{rows[0].run_id}"}]
    assert provenance["entity"][0]["what"]["reference"] == f"Composition/{note}/_history/1"
    assert "mederi-coding" in provenance["agent"][0]["who"]["display"]
    assert "version 1" in provenance["agent"][0]["who"]["display"]
    assert provenance["recorded"]
    run = system_repo().read("GuidanceResponse", rows[0].run_id).as_dict()
    assert run["subject"]["reference"] == "Patient/pat-1"


def test_accepting_a_diagnosis_adds_it_to_the_visit_and_is_audited(doctor, note):
    rows = services.suggest_for_note(doctor, note)
    bronchitis = next(r for r in rows if r.code == "J20.9")

    services.decide(doctor, bronchitis.pk, accept=True)

    condition = system_repo().read("Condition", Suggestion.objects.get(pk=bronchitis.pk).condition_id).as_dict()
    assert condition["code"]["coding"][0]["code"] == "J20.9"
    assert condition["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    assert selectors.accepted_codes(bronchitis.encounter_id, "diagnosis") == ["J20.9"]
    entry = AuditEntry.objects.filter(action="ai-accept").get()
    assert entry.actor_name == "drruiz" and entry.patient_id == "pat-1" and '"code":"J20.9"' in entry.detail


def test_rejecting_writes_nothing_to_the_record_and_is_audited(doctor, note):
    rows = services.suggest_for_note(doctor, note)
    before = record_row_counts()
    services.decide(doctor, rows[0].pk, accept=False)
    assert record_row_counts() == before
    assert Suggestion.objects.get(pk=rows[0].pk).status == Suggestion.REJECTED
    assert AuditEntry.objects.filter(action="ai-reject").count() == 1
    with pytest.raises(Exception, match="already rejected"):
        services.decide(doctor, rows[0].pk, accept=True)


def test_a_note_without_text_is_refused_and_nothing_is_stored(doctor):
    empty = write_note(doctor, {"chief-complaint": " "})
    before = record_row_counts()
    with pytest.raises(InvalidRequest, match="no text yet"):
        services.suggest_for_note(doctor, empty)
    assert record_row_counts() == before
    assert Suggestion.objects.count() == 0


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_page_suggests_and_a_clinician_accepts(doctor, note):
    client = _client(staff_user("drlee", "physician"))
    page = client.get(f"/ai/notes/{note}/coding/")
    assert page.status_code == 200 and b"Suggest codes" in page.content

    client.post(f"/ai/notes/{note}/coding/", {"new_patient": "yes"})
    page = client.get(f"/ai/notes/{note}/coding/")
    assert "Accept J20.9" in page.content.decode() and "99202" in page.content.decode()  # 25 minutes, new patient
    bronchitis = Suggestion.objects.get(code="J20.9")
    client.post(f"/ai/suggestions/{bronchitis.pk}/decide/", {"decision": "accept"})
    assert "Accepted by drlee" in client.get(f"/ai/notes/{note}/coding/").content.decode()


def test_the_page_says_why_an_empty_note_gets_no_suggestions(doctor):
    empty = write_note(doctor, {"chief-complaint": " "})
    client = _client(staff_user("drlee", "physician"))
    page = client.post(f"/ai/notes/{empty}/coding/", {"new_patient": "no"})
    assert page.status_code == 400 and "no text yet" in page.content.decode()
    assert Suggestion.objects.count() == 0


def test_a_bad_decision_changes_nothing(doctor, note):
    rows = services.suggest_for_note(doctor, note)
    client = _client(staff_user("drlee", "physician"))
    page = client.post(f"/ai/suggestions/{rows[0].pk}/decide/", {"decision": "maybe"})
    assert page.status_code == 400 and "Choose Accept or Reject" in page.content.decode()
    assert Suggestion.objects.get(pk=rows[0].pk).status == Suggestion.DRAFT
