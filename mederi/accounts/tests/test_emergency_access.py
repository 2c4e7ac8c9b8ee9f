"""Emergency access ("break the glass") to a restricted record, as staff and auditors meet it."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client

from mederi.accounts import emergency, services
from mederi.accounts.models import EmergencyAccess
from mederi.audit import selectors as audit_selectors
from mederi.audit.models import AuditEntry
from mederi.audit.tests.helpers import last_id, since
from mederi.conftest import FhirClient, staff_user, token_for
from mederi.core import clock, epoch
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest, NotFound
from mederi.fhir.repository import Repository

REASON = "Unconscious in the emergency room, allergies unknown"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


@pytest.fixture
def restricted(db):
    """A restricted patient (a staff member's own record) with one lab result."""
    repository = Repository(Context.system())
    patient = repository.create({
        "resourceType": "Patient", "name": [{"family": "Hidden", "given": ["Vera"]}],
        "meta": {"security": [{"system": CONFIDENTIALITY, "code": "R"}]},
    }).stored.logical_id
    observation = repository.create({
        "resourceType": "Observation", "status": "final", "code": {"text": "Potassium"},
        "subject": {"reference": f"Patient/{patient}"}, "valueQuantity": {"value": 4.1, "unit": "mmol/L"},
    }).stored.logical_id
    return patient, observation


@pytest.fixture
def doctor(db):
    return staff_user("drx", "physician")


@pytest.fixture
def nurse(db):
    return staff_user("nursey", "nurse")


@pytest.fixture
def auditor(db):
    user = staff_user("auditor1", "auditor")
    client = Client()
    client.force_login(user)
    return client


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _search_total(api: FhirClient, patient: str) -> int:
    response = api.get(f"/fhir/R4/Observation?patient={patient}")
    assert response.status_code == 200, response.content
    return response.json()["total"]


def test_a_restricted_record_opens_only_under_a_grant_and_closes_when_it_expires(restricted, doctor):
    patient, observation = restricted
    api = FhirClient(token_for(doctor))

    refused = api.get(f"/fhir/R4/Observation/{observation}")
    assert refused.status_code == 403
    assert "/accounts/emergency-access/" in refused.json()["issue"][0]["diagnostics"]
    assert _search_total(api, patient) == 0

    grant = emergency.break_glass(doctor, patient, "  " + REASON + "  ", remote_addr="10.1.1.1")
    assert grant.reason == REASON
    assert grant.expires - grant.started == timedelta(minutes=60)
    granted = AuditEntry.objects.filter(action="emergency-access").get()
    assert (granted.outcome, granted.patient_id, granted.actor_name) == ("success", patient, "drx")
    assert json.loads(granted.detail)["reason"] == REASON
    assert json.loads(granted.detail)["expires"] == grant.expires.isoformat()

    mark = last_id()
    opened = api.get(f"/fhir/R4/Observation/{observation}")
    assert opened.status_code == 200 and opened.json()["id"] == observation
    assert _search_total(api, patient) == 1
    reads = [e for e in since(mark) if e.action == "read"]
    assert len(reads) == 1 and reads[0].patient_id == patient and reads[0].purpose == "emergency"
    event = audit_selectors.as_fhir_audit_event(reads[0])
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"

    EmergencyAccess.objects.filter(pk=grant.pk).update(expires=clock.now() - timedelta(seconds=1))
    epoch.bump()
    assert api.get(f"/fhir/R4/Observation/{observation}").status_code == 403
    assert _search_total(api, patient) == 0


def test_ending_early_closes_the_record_at_once(restricted, doctor):
    patient, observation = restricted
    api = FhirClient(token_for(doctor))
    grant = emergency.break_glass(doctor, patient, REASON)
    assert api.get(f"/fhir/R4/Observation/{observation}").status_code == 200

    emergency.end_emergency_access(doctor, grant.pk)
    assert api.get(f"/fhir/R4/Observation/{observation}").status_code == 403
    ended = AuditEntry.objects.filter(action="emergency-access-end").get()
    assert ended.patient_id == patient and ended.outcome == "success"
    with pytest.raises(InvalidRequest, match="already ended"):
        emergency.end_emergency_access(doctor, grant.pk)


def test_someone_else_cannot_end_a_grant(restricted, doctor):
    grant = emergency.break_glass(doctor, restricted[0], REASON)
    other = staff_user("dry", "physician")
    with pytest.raises(NotFound):
        emergency.end_emergency_access(other, grant.pk)
    assert EmergencyAccess.objects.get(pk=grant.pk).ended is None


def test_a_nurse_cannot_break_the_glass_and_the_attempt_is_logged(restricted, nurse):
    patient, observation = restricted
    with pytest.raises(Forbidden, match="record.break_glass"):
        emergency.break_glass(nurse, patient, REASON)
    assert not EmergencyAccess.objects.exists()
    denied = AuditEntry.objects.filter(action="emergency-access").get()
    assert (denied.outcome, denied.patient_id, denied.actor_name) == ("denied", patient, "nursey")
    assert FhirClient(token_for(nurse)).get(f"/fhir/R4/Observation/{observation}").status_code == 403


@pytest.mark.parametrize("reason", ["", "   ", "emergency", "  short  "])
def test_a_short_reason_is_refused_and_nothing_is_stored(restricted, doctor, reason):
    mark = last_id()
    with pytest.raises(InvalidRequest, match="at least 10 characters"):
        emergency.break_glass(doctor, restricted[0], reason)
    assert not EmergencyAccess.objects.exists()
    assert not [e for e in since(mark) if e.action == "emergency-access"]


def test_an_unknown_patient_is_refused(restricted, doctor):
    with pytest.raises(NotFound, match="no patient with the id 'nobody'"):
        emergency.break_glass(doctor, "nobody", REASON)
    with pytest.raises(InvalidRequest, match="not a patient id"):
        emergency.break_glass(doctor, "a b/c", REASON)
    assert not EmergencyAccess.objects.exists()


def test_breaking_the_glass_again_replaces_the_grant_in_force(restricted, doctor):
    first = emergency.break_glass(doctor, restricted[0], REASON)
    second = emergency.break_glass(doctor, f"Patient/{restricted[0]}", REASON + ", still in theatre")
    first.refresh_from_db()
    assert first.ended is not None and second.ended is None
    assert [g.pk for g in emergency.active_grants(doctor)] == [second.pk]


def test_the_patient_is_not_kept_out_of_their_own_restricted_record(restricted):
    patient, observation = restricted
    user = services.create_patient_user("vera", "correct-horse-battery-9", patient, "Vera Hidden")
    api = FhirClient(token_for(user, scope="patient/*.rs", patient_id=patient))
    assert api.get(f"/fhir/R4/Patient/{patient}").status_code == 200
    assert api.get(f"/fhir/R4/Observation/{observation}").status_code == 200
    assert _search_total(api, patient) == 1


def test_the_report_lists_each_grant_with_the_accesses_made_under_it(restricted, doctor, auditor):
    patient, observation = restricted
    api = FhirClient(token_for(doctor))
    grant = emergency.break_glass(doctor, patient, REASON)
    api.get(f"/fhir/R4/Observation/{observation}")
    api.get(f"/fhir/R4/Patient/{patient}")
    emergency.end_emergency_access(doctor, grant.pk)
    api.get(f"/fhir/R4/Observation/{observation}")  # refused after the end: not counted

    mark = last_id()
    page = auditor.get("/audit/emergency/")
    assert page.status_code == 200
    html = page.content.decode()
    row = html.split('<tr class="emergency-grant">')[1].split("</tr>")[0]
    assert "drx" in row and patient in row and REASON in row and "ended early" in row
    assert '<td class="emergency-accesses">2</td>' in row
    assert f"/audit/?user=drx&amp;patient={patient}" in row
    logged = [e for e in since(mark) if e.action == "audit-read"]
    assert len(logged) == 1 and json.loads(logged[0].detail)["report"] == "emergency"

    filtered = auditor.get(f"/audit/?user=drx&patient={patient}")
    assert filtered.status_code == 200 and b"emergency-access" in filtered.content

    exported = auditor.get("/audit/emergency/export.csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [(r["user"], r["patient"], r["reason"], r["accesses"]) for r in rows] == [("drx", patient, REASON, "2")]
    assert AuditEntry.objects.filter(action="export", detail__contains='"emergency"').exists()

    assert b'href="/audit/emergency/"' in auditor.get("/audit/").content


def test_the_report_needs_the_audit_permission(restricted, doctor):
    assert Client().get("/audit/emergency/").status_code == 302
    for url in ("/audit/emergency/", "/audit/emergency/export.csv"):
        assert signed_in(doctor).get(url).status_code == 403


def test_the_page_opens_shows_and_ends_a_grant(restricted, doctor):
    patient, observation = restricted
    client = signed_in(doctor)

    form = client.get(f"/accounts/emergency-access/?patient={patient}")
    assert form.status_code == 200
    html = form.content.decode()
    assert f'value="{patient}"' in html and "logged" in html and "reviewed" in html
    assert 'id="emergency-none"' in html

    short = client.post("/accounts/emergency-access/", {"patient": patient, "reason": "urgent"})
    assert short.status_code == 400 and b"at least 10 characters" in short.content
    missing = client.post("/accounts/emergency-access/", {"patient": "nobody", "reason": REASON})
    assert missing.status_code == 404 and b"no patient with the id" in missing.content
    assert not EmergencyAccess.objects.exists()

    opened = client.post("/accounts/emergency-access/", {"patient": patient, "reason": REASON}, follow=True)
    assert opened.status_code == 200
    grant = EmergencyAccess.objects.get()
    assert (grant.user, grant.patient_id, grant.reason) == (doctor, patient, REASON)
    html = opened.content.decode()
    assert "Emergency access to patient" in html and REASON in html and "End now" in html
    assert FhirClient(token_for(doctor)).get(f"/fhir/R4/Observation/{observation}").status_code == 200

    ended = client.post("/accounts/emergency-access/", {"action": "end", "grant": grant.pk}, follow=True)
    assert ended.status_code == 200 and b"has ended" in ended.content and b'id="emergency-none"' in ended.content
    grant.refresh_from_db()
    assert grant.ended is not None


def test_the_page_explains_to_someone_without_the_permission(restricted, nurse):
    client = signed_in(nurse)
    page = client.get("/accounts/emergency-access/")
    assert page.status_code == 403 and b"You may not use emergency access" in page.content
    attempt = client.post("/accounts/emergency-access/", {"patient": restricted[0], "reason": REASON})
    assert attempt.status_code == 403
    assert not EmergencyAccess.objects.exists()
    assert AuditEntry.objects.filter(action="emergency-access", outcome="denied", actor_name="nursey").exists()


def test_the_page_needs_a_signed_in_person(db):
    response = Client().get("/accounts/emergency-access/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_returns_to_the_page_it_came_from_but_never_off_site(restricted, doctor):
    client = signed_in(doctor)
    back = client.post("/accounts/emergency-access/?next=/charts/x/", {"patient": restricted[0], "reason": REASON})
    assert back.status_code == 302 and back["Location"] == "/charts/x/"
    away = client.post("/accounts/emergency-access/", {"patient": restricted[0], "reason": REASON,
                                                       "next": "https://elsewhere.example/"})
    assert away.status_code == 302 and away["Location"] == "/accounts/emergency-access/"


@pytest.fixture
def restricted_chart_for_flag(doctor):
    repo = Repository(Context.system())
    repo.update("Patient", "vip-flag", {"resourceType": "Patient", "id": "vip-flag", "meta": {"security": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]}})
    repo.update("Patient", "plain-flag", {"resourceType": "Patient", "id": "plain-flag"})
    for pid in ("vip-flag", "plain-flag"):
        repo.update("Observation", f"o-{pid}", {"resourceType": "Observation", "id": f"o-{pid}", "status": "final",
                                                "code": {"coding": [{"code": "flag-test"}]},
                                                "subject": {"reference": f"Patient/{pid}"}})
    emergency.break_glass(doctor, "vip-flag", "Unconscious in the waiting room, needs history")
    return FhirClient(token_for(doctor)), last_id()


def test_a_search_across_patients_that_reaches_a_restricted_chart_is_flagged(restricted_chart_for_flag):
    api, mark = restricted_chart_for_flag
    bundle = api.get("/fhir/R4/Observation?code=flag-test").json()
    assert bundle["total"] == 2
    entry = since(mark)[-1]
    assert entry.action == "search" and entry.purpose == "emergency"
    assert json.loads(entry.detail)["emergency_patients"] == ["vip-flag"]
