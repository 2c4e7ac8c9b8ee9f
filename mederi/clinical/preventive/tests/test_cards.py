"""Preventive care read from a stored record: the results, the CDS patient-view cards, the chart's
care gaps and the badge on the appointment page."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from django.test import Client

from mederi.audit.models import AuditEntry
from mederi.clinical.preventive import cards, engine
from mederi.clinical.preventive.tests.factories import SYSTEM, condition, immunization, observation, patient, procedure
from mederi.conftest import FhirClient, FrozenClock, staff_user
from mederi.core import systems

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today(monkeypatch):
    return FrozenClock.install(monkeypatch, datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc))


@pytest.fixture
def rosa():
    """A 60-year-old woman: no mammogram, no colorectal screening, a flu shot this season."""
    patient("rosa", "1965-06-02", "female", "Delgado")
    immunization("rosa", "158", "2025-10-02")
    observation("rosa", "44261-6", "2025-11-20", 3, "{score}", category="survey")
    return "rosa"


def _by_rule(results) -> dict[str, engine.Result]:
    return {r.rule.id: r for r in results}


def test_results_come_from_the_stored_record(rosa):
    found = _by_rule(cards.results_for(SYSTEM, rosa))
    assert found["breast-screening"].status == engine.DUE
    assert found["colorectal-screening"].status == engine.DUE
    assert found["influenza-vaccine"].status == engine.SATISFIED
    assert found["depression-screening"].status == engine.SATISFIED
    assert found["depression-screening"].evidence.reference.startswith("Observation/")
    assert found["zoster-vaccine"].status == engine.DUE
    assert found["pneumococcal-vaccine"].status == engine.NOT_APPLICABLE


def test_a_colonoscopy_procedure_in_cpt_and_a_mammogram_in_snomed_satisfy_their_rules(rosa):
    procedure(rosa, systems.CPT, "45378", "2020-05-01")
    procedure(rosa, systems.SNOMED, "71651007", "2025-01-15")
    found = _by_rule(cards.results_for(SYSTEM, rosa))
    assert found["colorectal-screening"].status == engine.SATISFIED
    assert found["colorectal-screening"].next_due.isoformat() == "2030-05-01"
    assert found["breast-screening"].status == engine.SATISFIED


def test_entries_in_error_do_not_count(rosa):
    from mederi.fhir.repository import Repository

    repo = Repository(SYSTEM)
    stored = repo.create({"resourceType": "Procedure", "status": "entered-in-error",
                          "subject": {"reference": "Patient/rosa"},
                          "code": {"coding": [{"system": systems.CPT, "code": "45378"}]},
                          "performedDateTime": "2024-05-01"}).stored
    assert stored.logical_id
    assert _by_rule(cards.results_for(SYSTEM, rosa))["colorectal-screening"].status == engine.DUE


def test_the_patient_view_hook_shows_what_is_due_with_why_and_what_to_do(rosa, fhir):
    body = {"hookInstance": str(uuid.uuid4()), "hook": "patient-view", "context": {"patientId": "rosa",
                                                                                   "userId": "Practitioner/x"}}
    answer = FhirClient(fhir.token).post("/cds-services/patient-view", body, content_type="application/json")
    assert answer.status_code == 200
    found = {c["source"]["topic"]["code"]: c for c in answer.json()["cards"]
             if c["source"].get("topic", {}).get("system") == cards.TOPIC_SYSTEM}
    assert {"breast-screening", "colorectal-screening", "zoster-vaccine"} <= set(found)
    assert "influenza-vaccine" not in found
    breast = found["breast-screening"]
    assert breast["summary"] == "Breast cancer screening: due"
    assert "**Why:** No mammogram on record." in breast["detail"]
    assert "**What to do:** Order a screening mammogram." in breast["detail"]
    assert "USPSTF" in breast["detail"] and breast["indicator"] == "info"


def test_an_overdue_gap_is_a_warning_card(rosa):
    procedure(rosa, systems.SNOMED, "71651007", "2023-01-15")
    card = next(c for c in cards.care_gaps(SYSTEM, rosa) if c["rule"] == "breast-screening")
    assert card["summary"] == "Breast cancer screening: overdue since 2025-01-15"
    assert cards.card_for(next(r for r in cards.results_for(SYSTEM, rosa)
                               if r.rule.id == "breast-screening"))["indicator"] == "warning"


def test_the_chart_lists_the_care_gaps_and_audits_them_with_the_chart(rosa):
    doctor = Client()
    doctor.force_login(staff_user("drgap", "physician"))
    page = doctor.get("/clinical/patients/rosa/").content.decode()
    gaps = page[page.index('id="gaps-heading"'):]
    gaps = gaps[:gaps.index("</section>")]
    assert "Breast cancer screening: due" in gaps
    assert "What to do: Order a screening mammogram." in gaps
    assert "Influenza vaccine" not in gaps
    entry = AuditEntry.objects.filter(query="ui: patient chart").latest("id")
    assert any(r.startswith("Immunization/") for r in entry.references)


def test_the_appointment_page_badge_counts_what_is_due(rosa):
    doctor = Client()
    doctor.force_login(staff_user("drbadge", "physician"))
    answer = doctor.get("/clinical/patients/rosa/care-gaps/badge")
    assert answer.status_code == 200
    due = sum(1 for r in cards.results_for(SYSTEM, rosa) if r.needs_action)
    assert f"{due} due" in answer.content.decode()
    desk = Client()
    desk.force_login(staff_user("desk", "front_desk"))
    assert desk.get("/clinical/patients/rosa/care-gaps/badge").content.decode().strip() == ""


def test_a_diabetic_with_a_risk_factor_and_no_statin_gets_the_statin_card(rosa):
    condition(rosa, systems.ICD10CM, "E11.9", "Type 2 diabetes mellitus")
    found = _by_rule(cards.results_for(SYSTEM, rosa))
    assert found["statin-primary-prevention"].status == engine.DUE
    assert "Type 2 diabetes" in found["statin-primary-prevention"].reason
    assert found["pneumococcal-vaccine"].status == engine.DUE
