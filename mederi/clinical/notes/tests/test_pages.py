"""The queue's Start visit, the visit note page (draft, sign, locked, addendum) and the template editor."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.clinical.notes import catalogue
from mederi.clinical.notes.selectors import encounter_note
from mederi.clinical.notes.tests.conftest import system_repo
from mederi.conftest import record_row_counts, staff_user
from mederi.core.context import Context

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def doctor_client(practice):
    user = staff_user("drruiz", "physician")
    user.profile.practitioner_id = "dr-ruiz"
    user.profile.save(update_fields=["practitioner_id"])
    return signed_in(user)


def test_a_physician_starts_writes_signs_and_cannot_change_the_note(doctor_client):
    started = doctor_client.post("/clinical/visits/start/appt-1/")
    assert started.status_code == 302
    page = doctor_client.get(started["Location"])
    assert "Adult / family medicine visit" in page.content.decode()
    encounter_id = started["Location"].rstrip("/").rsplit("/", 1)[1]

    form = doctor_client.get(f"{started['Location']}?template=note-adult-visit-1").content.decode()
    assert "Chief complaint" in form and "Sign the note" in form

    autosaved = doctor_client.post(f"/clinical/visits/{encounter_id}/autosave/",
                                   {"template": "note-adult-visit-1", "chief-complaint": "Cough"})
    assert "Draft saved" in autosaved.content.decode()
    missing = doctor_client.post(started["Location"], {"template": "note-adult-visit-1", "action": "sign",
                                                       "chief-complaint": "Cough"})
    assert missing.status_code == 400
    assert "Please answer this question." in missing.content.decode()

    signed = doctor_client.post(started["Location"], {
        "template": "note-adult-visit-1", "action": "sign", "chief-complaint": "Cough",
        "assessment-text": "Viral cough", "plan-text": "Fluids"})
    assert signed.status_code == 302
    page = doctor_client.get(started["Location"]).content.decode()
    assert "signed" in page and "Viral cough" in page and "Sign the note" not in page

    before = record_row_counts()
    refused = doctor_client.post(started["Location"], {"template": "note-adult-visit-1", "action": "save",
                                                       "chief-complaint": "Changed"})
    assert refused.status_code == 409
    assert "can no longer be changed" in refused.content.decode()
    assert record_row_counts() == before

    note = encounter_note(system_repo(), encounter_id).composition
    doctor_client.post(f"/clinical/notes/{note['id']}/addenda/", {"kind": "appends", "text": "X-ray clear."})
    page = doctor_client.get(started["Location"]).content.decode()
    assert "Addendum to Adult / family medicine visit (draft)" in page


def test_the_queue_offers_start_visit(doctor_client, monkeypatch):
    page = doctor_client.get("/clinical/queue/").content.decode()
    assert 'action="/clinical/visits/start/appt-1/"' in page


def editor_form(rows: list[dict], title: str = "Adult / family medicine visit") -> dict:
    data = {"title": title, "description": "", "row-TOTAL_FORMS": str(len(rows)), "row-INITIAL_FORMS": "0"}
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"row-{n}-{key}"] = value
    return data


@pytest.fixture
def admin_client(db):
    return signed_in(staff_user("admin", "practice_admin"))


def test_editing_a_template_makes_a_new_version_and_the_old_one_still_reads(admin_client):
    page = admin_client.get("/clinical/templates/note-adult-visit-1/edit/").content.decode()
    assert "Chief complaint" in page
    rows = [{"link_id": "chief-complaint", "section": "subjective", "text": "Reason for visit", "type": "string",
             "required": "on", "position": "2"},
            {"section": "subjective", "text": "Smoker", "type": "boolean", "position": "1"},
            {"link_id": "follow-up", "section": "plan", "text": "Follow-up", "type": "choice",
             "options": "1 week\n1 month", "position": "3"}]
    saved = admin_client.post("/clinical/templates/note-adult-visit-1/edit/", editor_form(rows))
    assert saved.status_code == 302

    context = Context.system("test")
    versions = catalogue.all_versions(context, catalogue.ADULT_VISIT)
    assert [(v.version, v.status) for v in versions] == [("2", "active"), ("1", "retired")]
    new = versions[0].resource
    assert [i["text"] for i in new["item"][0]["item"]] == ["Smoker", "Reason for visit"]
    assert [o["valueString"] for o in new["item"][1]["item"][0]["answerOption"]] == ["1 week", "1 month"]
    assert catalogue.by_canonical(context, "urn:mederi:note-template:adult-visit|1").items()


@pytest.mark.parametrize(("row", "field", "message"), [
    ({"section": "plan", "text": "Follow-up", "type": "choice", "options": "Only one", "position": "1"},
     "options", "at least two answers"),
    ({"section": "plan", "text": "Weight", "type": "integer", "options": "1\n2", "position": "1"},
     "options", "only a choice has answers"),
    ({"section": "plan", "text": "Weight", "type": "rating", "position": "1"}, "type", "Select a valid choice"),
    ({"section": "plan", "text": "Weight", "type": "string", "position": "0"}, "position", "greater than or equal"),
])
def test_bad_template_input_is_refused_at_its_field(admin_client, row, field, message):
    before = record_row_counts()
    refused = admin_client.post("/clinical/templates/new/", editor_form([row], title="Sports check"))
    assert refused.status_code == 400
    page = refused.content.decode()
    assert f'id="id_row-0-{field}-error"' in page
    assert message in page
    assert record_row_counts() == before


def test_a_template_needs_a_title_and_a_question(admin_client):
    refused = admin_client.post("/clinical/templates/new/", editor_form([], title=""))
    assert refused.status_code == 400
    assert 'id="id_title-error"' in refused.content.decode()
    refused = admin_client.post("/clinical/templates/new/", editor_form([], title="Empty"))
    assert "at least one question" in refused.content.decode()


def test_a_physician_cannot_edit_templates(doctor_client):
    assert doctor_client.get("/clinical/templates/new/").status_code == 403


def test_the_navigation_leads_administrators_to_the_note_templates(admin_client, doctor_client):
    assert 'href="/clinical/templates/">Note templates</a>' in admin_client.get("/clinical/templates/").content.decode()
    queue = doctor_client.get("/clinical/queue/")
    assert queue.status_code == 200 and "Note templates</a>" not in queue.content.decode()
