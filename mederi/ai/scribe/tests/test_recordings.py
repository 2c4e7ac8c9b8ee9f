"""The clinician's side: a recording taken for a visit, its draft kept with Provenance, each part decided."""

from pathlib import Path

import pytest
from django.test import Client

from mederi.ai.scribe import services
from mederi.ai.scribe.models import DraftPart, Recording
from mederi.ai.scribe.tests.conftest import needs_model, needs_speech
from mederi.audit.models import AuditEntry
from mederi.clinical.notes import encounters
from mederi.clinical.notes.selectors import encounter_note
from mederi.clinical.notes.tests.conftest import system_repo
from mederi.conftest import record_row_counts
from mederi.core.errors import Conflict, InvalidRequest
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(doctor):
    return encounters.start_visit(doctor, "appt-1").encounter_id


@pytest.fixture
def browser(doctor):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="drruiz"))
    return client


def _upload(client, encounter_id, path: Path, capture):
    with capture(execute=True), path.open("rb") as handle:
        return client.post(f"/ai/scribe/visits/{encounter_id}/", {"audio": handle})


@needs_speech
@needs_model
def test_an_uploaded_visit_becomes_a_preliminary_draft_with_provenance_and_parts(
        browser, visit, sounds, audio_dir, django_capture_on_commit_callbacks):
    response = _upload(browser, visit, sounds["visit"], django_capture_on_commit_callbacks)

    recording = Recording.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/ai/scribe/recordings/{recording.pk}/"
    assert recording.status == Recording.READY and recording.progress == 100
    assert recording.turns[0]["speaker"] == "doctor"
    document = system_repo().read("DocumentReference", recording.document_id).as_dict()
    assert document["docStatus"] == "preliminary"
    assert document["context"]["encounter"] == [{"reference": f"Encounter/{visit}"}]
    provenance = system_repo().read("Provenance", recording.provenance_id).as_dict()
    agents = " ".join(a["who"]["display"] for a in provenance["agent"])
    assert "faster-whisper" in agents and "tiny.en" in agents and "mederi-scribe" in agents
    assert provenance["entity"][0]["what"]["identifier"]["value"] == recording.audio_sha256

    page = browser.get(f"/ai/scribe/recordings/{recording.pk}/").content.decode()
    assert "Transcript" in page and "penicillin" in page.lower() and "said to be absent" in page
    assert recording.parts.filter(kind="allergy", status=DraftPart.DRAFT).exists()


@pytest.fixture
def drafted(visit, audio_dir):
    """A recording whose job has finished (the speech side is tested above; here, the decisions)."""
    recording = Recording.objects.create(
        patient_id="pat-1", encounter_id=visit, started_by="drruiz", created_at="2026-03-02T15:00:00Z",
        audio_sha256="0" * 64, audio_type="audio/webm", audio_seconds=30, status=Recording.READY, progress=100,
        turns=[{"speaker": "doctor", "text": "Any chest pain?", "start": 0, "end": 1},
               {"speaker": "patient", "text": "No chest pain. I am allergic to penicillin.", "start": 1, "end": 3},
               {"speaker": "doctor", "text": "Blood pressure 140 over 90. This is pneumonia.", "start": 3, "end": 6}],
        document_id="doc-1")
    parts = {
        "hpi": DraftPart(recording=recording, kind="section", key="history_of_present_illness",
                         display="History of present illness", text="The patient is allergic to penicillin.", rank=0),
        "allergy": DraftPart(recording=recording, kind="allergy", display="penicillin", rank=100, turn=1, start=33,
                             end=43, system="http://www.nlm.nih.gov/research/umls/rxnorm", code="70618"),
        "chest": DraftPart(recording=recording, kind="problem", display="Chest pain, unspecified", code="R07.9",
                           rank=101, turn=1, start=3, end=13, negated=True),
        "pneumonia": DraftPart(recording=recording, kind="problem", display="Pneumonia, unspecified organism",
                               code="J18.9", rank=102, turn=2, start=36, end=45),
        "bp": DraftPart(recording=recording, kind="vital", display="Blood pressure", code="85354-9",
                        value="140/90 mmHg", rank=103, turn=2, start=0, end=26),
        "xray": DraftPart(recording=recording, kind="order", display="Chest X-ray", rank=104, turn=2, start=0, end=5),
    }
    for part in parts.values():
        part.save()
    return parts


def test_accepting_findings_puts_them_on_the_chart_and_is_audited(doctor, drafted):
    for name in ("allergy", "pneumonia", "bp", "xray"):
        services.decide(doctor, drafted[name].pk, accept=True)

    written = {name: DraftPart.objects.get(pk=drafted[name].pk).written
               for name in ("allergy", "pneumonia", "bp", "xray")}
    allergy = system_repo().read("AllergyIntolerance", written["allergy"].split("/")[1]).as_dict()
    assert allergy["patient"]["reference"] == "Patient/pat-1" and "penicillin" in str(allergy["code"]).lower()
    condition = system_repo().read("Condition", written["pneumonia"].split("/")[1]).as_dict()
    assert condition["code"]["coding"][0]["code"] == "J18.9"
    panel = system_repo().read("Observation", written["bp"].split("/")[1]).as_dict()
    assert [c["valueQuantity"]["value"] for c in panel["component"]] == [140, 90]
    order = system_repo().read("ServiceRequest", written["xray"].split("/")[1]).as_dict()
    assert order["status"] == "draft" and order["code"]["text"] == "Chest X-ray"
    entries = AuditEntry.objects.filter(action="ai-accept")
    assert entries.count() == 4 and {e.patient_id for e in entries} == {"pat-1"}


def test_accepting_a_section_writes_it_into_the_visit_draft_note(doctor, drafted, visit):
    services.decide(doctor, drafted["hpi"].pk, accept=True)

    note = encounter_note(system_repo(), visit)
    assert note.composition["status"] == "preliminary"
    answers = {item["linkId"]: item for group in note.response["item"] for item in group.get("item", [])}
    assert answers["hpi"]["answer"][0]["valueString"] == "The patient is allergic to penicillin."


def test_a_finding_said_to_be_absent_cannot_be_accepted_and_nothing_changes(doctor, drafted):
    before = record_row_counts()
    with pytest.raises(Conflict, match="said to be absent"):
        services.decide(doctor, drafted["chest"].pk, accept=True)
    assert record_row_counts() == before
    assert DraftPart.objects.get(pk=drafted["chest"].pk).status == DraftPart.DRAFT


def test_rejecting_writes_nothing_to_the_record_and_is_audited(doctor, drafted):
    before = record_row_counts()
    services.decide(doctor, drafted["pneumonia"].pk, accept=False)
    assert record_row_counts() == before
    assert AuditEntry.objects.filter(action="ai-reject").count() == 1
    with pytest.raises(Conflict, match="already rejected"):
        services.decide(doctor, drafted["pneumonia"].pk, accept=True)


def test_the_decision_buttons_on_the_page(browser, drafted):
    response = browser.post(f"/ai/scribe/parts/{drafted['allergy'].pk}/decide/", {"decision": "accept"})
    assert response.status_code == 302
    page = browser.get(response["Location"].split("#")[0]).content.decode()
    assert "Accepted by" in page
    bad = browser.post(f"/ai/scribe/parts/{drafted['pneumonia'].pk}/decide/", {"decision": "maybe"})
    assert bad.status_code == 400 and "Choose Accept or Reject." in bad.content.decode()


@needs_model
@pytest.mark.parametrize("name, message", [
    ("silent", "silent"), ("empty", "no sound"), ("text", "could not be read as audio"),
    ("corrupt", "could not be read as audio")])
def test_unusable_uploads_are_refused_on_the_page_and_nothing_is_kept(
        browser, visit, sounds, audio_dir, name, message, django_capture_on_commit_callbacks):
    before = record_row_counts()
    response = _upload(browser, visit, sounds[name], django_capture_on_commit_callbacks)
    assert response.status_code == 400 and message in response.content.decode()
    assert record_row_counts() == before
    assert not Recording.objects.exists()
    assert not any(Path(audio_dir).iterdir())


def test_an_upload_with_no_file_or_an_empty_file_is_refused(browser, visit, audio_dir, tmp_path):
    assert "Choose an audio file" in browser.post(f"/ai/scribe/visits/{visit}/", {}).content.decode()
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    with empty.open("rb") as handle:
        response = browser.post(f"/ai/scribe/visits/{visit}/", {"audio": handle})
    assert response.status_code == 400 and not Recording.objects.exists()


@needs_speech
@needs_model
def test_a_recording_in_another_language_fails_with_a_reason_and_leaves_the_record_unchanged(
        browser, visit, sounds, audio_dir, django_capture_on_commit_callbacks):
    before = record_row_counts()
    response = _upload(browser, visit, sounds["spanish"], django_capture_on_commit_callbacks)

    recording = Recording.objects.get()
    assert recording.status == Recording.FAILED and "could not be understood as English" in recording.message
    assert record_row_counts() == before and not recording.parts.exists()
    assert not any(Path(audio_dir).iterdir())  # the audio is not kept
    page = browser.get(response["Location"]).content.decode()
    assert "could not be understood as English" in page


def test_a_signed_visit_takes_no_recording(doctor, visit, audio_dir, sounds):
    system_repo()  # the visit is finished: nothing can be drafted into it any more
    encounters.finish_encounter(doctor, visit)
    with pytest.raises(Conflict, match="start the visit|signed"), sounds["silent"].open("rb") as handle:
        services.take_recording(doctor, visit, handle)
    assert not Recording.objects.exists()


def test_a_missing_part_is_a_clear_refusal(doctor):
    with pytest.raises(InvalidRequest, match="does not exist"):
        services.decide(doctor, 999, accept=True)


def test_the_assessment_and_plan_is_split_between_the_two_questions_of_the_note(doctor, drafted, visit):
    part = DraftPart.objects.create(recording=drafted["hpi"].recording, kind="section", key="assessment_and_plan",
                                    display="Assessment and plan", rank=5,
                                    text="1. Pneumonia.\n• Additional Testing: We will order a chest x-ray.")
    services.decide(doctor, part.pk, accept=True)

    note = encounter_note(system_repo(), visit)
    answers = {item["linkId"]: item["answer"][0]["valueString"]
               for group in note.response["item"] for item in group.get("item", []) if item.get("answer")}
    assert answers["assessment-text"] == "1. Pneumonia."
    assert answers["plan-text"] == "• Additional Testing: We will order a chest x-ray."


def test_the_page_shows_the_jobs_progress_and_reloads_when_the_draft_is_ready(browser, drafted):
    recording = drafted["hpi"].recording
    Recording.objects.filter(pk=recording.pk).update(status=Recording.TRANSCRIBING, progress=40)
    running = browser.get(f"/ai/scribe/recordings/{recording.pk}/progress/")
    assert "Transcribing" in running.content.decode() and 'value="40"' in running.content.decode()
    assert "HX-Refresh" not in running.headers

    Recording.objects.filter(pk=recording.pk).update(status=Recording.READY, progress=100)
    done = browser.get(f"/ai/scribe/recordings/{recording.pk}/progress/")
    assert done.headers["HX-Refresh"] == "true"


def test_the_demo_visit_in_progress_has_a_ready_draft_to_decide():
    from mederi.ai.scribe import demo as scribe_demo
    from mederi.clinical.notes import demo as notes_demo
    from mederi.core.context import Context
    from mederi.demo import _load_demo_users, demo_resources
    from mederi.fhir.bundles import BundleProcessor
    from mederi.scheduling import practice_time
    from mederi.scheduling.demo import load_demo as load_schedule

    BundleProcessor(system_repo()).process({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in demo_resources()]})
    _load_demo_users()
    today = practice_time.today()
    load_schedule(today)
    notes_demo.load_demo(today)

    assert "suggestions to accept" in scribe_demo.load_demo(today)
    recording = Recording.objects.get()
    assert recording.status == Recording.READY and recording.turns[0]["speaker"] == "doctor"
    kinds = set(recording.parts.values_list("kind", flat=True))
    assert {"section", "allergy", "problem"} <= kinds
    document = Repository(Context.system("test")).read("DocumentReference", recording.document_id).as_dict()
    assert document["docStatus"] == "preliminary"
    assert "loaded before" in scribe_demo.load_demo(today) and Recording.objects.count() == 1
