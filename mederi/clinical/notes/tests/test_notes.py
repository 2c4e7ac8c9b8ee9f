"""A visit note: drafted from a template, signed (then read-only), added to, and co-signed."""

from __future__ import annotations

import pytest
from django.utils.datastructures import MultiValueDict

from mederi.clinical.models import DocumentSignature
from mederi.clinical.notes import catalogue, encounters, services, supervision
from mederi.clinical.notes.narrative import plain_text
from mederi.clinical.notes.selectors import encounter_note
from mederi.clinical.notes.tests.conftest import clinician, system_repo
from mederi.conftest import record_row_counts
from mederi.core.context import Context
from mederi.core.errors import Conflict, Forbidden

pytestmark = pytest.mark.django_db

ADULT = "note-adult-visit-1"
FILLED = {"chief-complaint": "Cough for two weeks", "hpi": "Dry cough, worse at night.", "general": "Well",
          "assessment-text": "Post-viral cough", "plan-text": "Honey, fluids; return if fever", "follow-up": "3"}


def form(answers: dict) -> MultiValueDict:
    return MultiValueDict({k: [v] if isinstance(v, str) else list(v) for k, v in answers.items()})


@pytest.fixture
def visit(doctor):
    return encounters.start_visit(doctor, "appt-1").encounter_id


def test_a_draft_keeps_answers_and_a_preliminary_soap_note(doctor, visit):
    saved = services.save_draft(doctor, visit, form({"chief-complaint": "Cough"}), template_id=ADULT)

    note = encounter_note(system_repo(), visit)
    assert note.response["status"] == "in-progress"
    assert note.response["questionnaire"] == "urn:mederi:note-template:adult-visit|1"
    assert note.composition["status"] == "preliminary"
    assert [s["title"] for s in note.composition["section"]] == ["Subjective", "Objective", "Assessment", "Plan"]
    assert plain_text(note.composition["section"][0]) == "Chief complaint: Cough"
    assert note.composition["section"][0]["entry"] == [{"reference": f"QuestionnaireResponse/{saved.response_id}"}]


def test_a_draft_refuses_a_wrong_answer_and_keeps_the_last_draft(doctor, visit):
    services.save_draft(doctor, visit, form({"chief-complaint": "Cough"}), template_id=ADULT)
    before = record_row_counts()
    with pytest.raises(services.NoteInvalid) as refused:
        services.save_draft(doctor, visit, form({"chief-complaint": "Cough", "follow-up": "99"}))
    assert refused.value.filled.errors == {"follow-up": "Choose one of the answers listed."}
    assert record_row_counts() == before


def test_signing_needs_the_required_answers(doctor, visit):
    with pytest.raises(services.NoteInvalid) as refused:
        services.sign_note(doctor, visit, form({"chief-complaint": "Cough"}), template_id=ADULT)
    assert set(refused.value.filled.errors) == {"assessment-text", "plan-text"}
    assert system_repo().read("Encounter", visit).as_dict()["status"] == "in-progress"


def test_signing_locks_the_note_finishes_the_visit_and_takes_addenda(doctor, visit):
    services.save_draft(doctor, visit, form({"chief-complaint": "Cough"}), template_id=ADULT)
    services.sign_note(doctor, visit, form(FILLED))

    repo = system_repo()
    note = encounter_note(repo, visit)
    assert note.composition["status"] == "final"
    assert note.composition["attester"][0]["mode"] == "legal"
    assert note.response["status"] == "completed"
    assert "Post-viral cough" in plain_text(note.composition["section"][2])
    assert DocumentSignature.objects.filter(logical_id=note.composition["id"]).count() == 1
    assert repo.read("Encounter", visit).as_dict()["status"] == "finished"
    assert repo.read("Appointment", "appt-1").as_dict()["status"] == "fulfilled"

    before = record_row_counts()
    with pytest.raises(Conflict) as refused:
        services.save_draft(doctor, visit, form({**FILLED, "plan-text": "Antibiotics"}))
    assert "signed" in str(refused.value)
    assert record_row_counts() == before

    addendum_id = services.add_addendum(doctor, note.composition["id"], "appends", "Chest X-ray normal.")
    services.sign_addendum(doctor, addendum_id)
    addendum = repo.read("Composition", addendum_id).as_dict()
    assert addendum["relatesTo"] == [{"code": "appends", "targetReference": {"reference": f"Composition/{note.composition['id']}"}}]
    assert addendum["status"] == "final"
    assert encounter_note(repo, visit).addenda[0]["id"] == addendum_id
    with pytest.raises(Conflict):
        services.sign_addendum(doctor, addendum_id)


def test_an_empty_addendum_is_refused(doctor, visit):
    services.sign_note(doctor, visit, form(FILLED), template_id=ADULT)
    note = encounter_note(system_repo(), visit)
    before = record_row_counts()
    with pytest.raises(Exception, match="write the text"):
        services.add_addendum(doctor, note.composition["id"], "appends", "   ")
    assert record_row_counts() == before


def test_a_nurse_cannot_sign(practice, visit):
    nurse = clinician("nurse", "", "nurse")
    services.save_draft(nurse, visit, form(FILLED), template_id=ADULT)
    with pytest.raises(Forbidden):
        services.sign_note(nurse, visit, form(FILLED))
    assert encounter_note(system_repo(), visit).composition["status"] == "preliminary"


def test_the_intake_stores_the_scores_in_the_answers_and_as_observations(doctor, visit):
    template = catalogue.by_id(Context.system("test"), "note-mental-health-intake-1")
    answers = {"presenting-problem": "Low mood", "risk": "1", "assessment-text": "Depression", "plan-text": "Review"}
    answers |= {f"phq9-{n}": "3" for n in range(1, 10)}  # "More than half the days": 2 points each
    answers |= {f"gad7-{n}": "2" for n in range(1, 8)}  # "Several days": 1 point each
    services.sign_note(doctor, visit, form(answers), template_id=template.id)

    repo = system_repo()
    note = encounter_note(repo, visit)
    phq9 = next(i for i in note.response["item"][0]["item"] if i["linkId"] == "phq9")
    given = {i["linkId"]: i["answer"][0] for i in phq9["item"]}
    assert given["phq9-total"] == {"valueInteger": 18} and given["phq9-severity"] == {"valueString": "Moderately severe"}
    totals = {o.as_dict()["code"]["coding"][0]["code"]: o.as_dict() for o in
              repo.search("Observation", [("encounter", f"Encounter/{visit}")]).matches}
    assert totals["44261-6"]["valueInteger"] == 18
    assert totals["70274-6"]["valueInteger"] == 7
    assert totals["70274-6"]["interpretation"] == [{"text": "Mild"}]
    assert totals["44261-6"]["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{note.response['id']}"}]
    assert "PHQ-9 total score: 18" in plain_text(note.composition["section"][0])


def test_a_supervised_clinicians_note_awaits_the_supervisors_co_signature(practice):
    supervision.set_supervisor(Context.system("test"), "np-lee", "dr-ruiz")
    lee = clinician("nplee", "np-lee")
    visit_id = encounters.start_visit(lee, "appt-1").encounter_id
    services.sign_note(lee, visit_id, form(FILLED), template_id=ADULT)

    repo = system_repo()
    note = encounter_note(repo, visit_id)
    assert note.status == "awaiting co-signature"
    assert [a["mode"] for a in note.composition["attester"]] == ["professional"]

    other = clinician("drother", "np-lee-not")
    with pytest.raises(Forbidden):
        services.cosign(other, note.composition["id"])
    ruiz = clinician("drruiz", "dr-ruiz")
    services.cosign(ruiz, note.composition["id"])

    note = encounter_note(repo, visit_id)
    assert note.status == "signed"
    assert [a["mode"] for a in note.composition["attester"]] == ["professional", "legal"]
    assert DocumentSignature.objects.filter(logical_id=note.composition["id"]).count() == 2
    with pytest.raises(Conflict):
        services.cosign(ruiz, note.composition["id"])
