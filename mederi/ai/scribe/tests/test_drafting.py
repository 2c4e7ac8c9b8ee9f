"""The draft note a clinician gets from a visit transcript."""

import csv

import pytest

from mederi.ai.scribe.drafting import EmptyTranscript, draft_note, parse_transcript
from mederi.ai.scribe.sections import SECTION_KEYS
from mederi.conftest import shared_data

VISIT = """[doctor] hi, mrs. lopez. what brings you in today?
[patient] my right knee has been hurting for about two weeks. i twisted it playing tennis.
[doctor] any fever or chills?
[patient] no.
[doctor] are you taking anything for it?
[patient] i've been taking ibuprofen, um, 400 milligrams, and it helps a little.
[doctor] any allergies to medications?
[patient] i'm allergic to penicillin.
[doctor] okay. your blood pressure today is 132 over 84 and your heart rate is 76.
[doctor] let me take a look at your knee. there is tenderness over the medial joint line and a small effusion.
[doctor] range of motion is limited by pain.
[doctor] so my impression is a medial meniscus tear of the right knee.
[doctor] i'm going to order an mri of your right knee and i want you to continue the ibuprofen with food.
[doctor] we could maybe start physical therapy after the mri.
[patient] okay, sounds good.
[doctor] great. i'll see you back in two weeks."""


@pytest.fixture(scope="module")
def draft():
    return draft_note(parse_transcript(VISIT))


def test_the_draft_has_the_template_sections_in_order(draft):
    assert list(draft.sections) == list(SECTION_KEYS)
    text = draft.text()
    headings = ["CHIEF COMPLAINT", "HISTORY OF PRESENT ILLNESS", "REVIEW OF SYSTEMS", "PHYSICAL EXAM",
                "ASSESSMENT AND PLAN"]
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings)


def test_the_patients_words_are_in_the_third_person(draft):
    hpi = draft.sections["history_of_present_illness"]
    assert "Her right knee has been hurting for about two weeks." in hpi
    assert "she has been taking ibuprofen, 400 mg" in hpi.lower()
    assert " i " not in f" {hpi.lower()} " and " my " not in f" {hpi.lower()} "


def test_the_chief_complaint_is_what_the_patient_came_with(draft):
    assert draft.sections["chief_complaint"] == "Right knee pain."
    assert draft.sections["history_of_present_illness"].startswith(
        "The patient presents today for evaluation of right knee pain.")


def test_the_plan_opens_with_the_visits_summary_and_closes_with_the_return_visit(draft):
    plan = draft.sections["assessment_and_plan"].splitlines()
    assert plan[0] == "The patient presents today for evaluation of right knee pain."
    assert plan[-1] == "The patient will follow up in 2 weeks."


@pytest.mark.parametrize("said, complaint", [
    ("[doctor] joseph is a 59 year old male here for routine follow-up of his chronic problems.", "Routine follow-up "
     "of chronic problems."),
    ("[doctor] martha is a 50-year-old female who presents today for an annual exam.", "Annual exam."),
    ("[doctor] so what are you here for today?\n[patient] my lower back has been hurting since friday.",
     "Lower back pain."),  # a question is not the reason; what hurts is
])
def test_the_chief_complaint_is_why_the_clinician_says_the_patient_came(said, complaint):
    assert draft_note(parse_transcript(said)).sections["chief_complaint"] == complaint


def test_no_return_visit_is_made_up():
    note = draft_note(parse_transcript("[patient] my knee hurts.\n[doctor] let's get an x-ray of the knee."))
    assert "follow up in" not in note.sections["assessment_and_plan"]


def test_denied_symptoms_make_the_review_of_systems(draft):
    assert "Denies fever or chills." in draft.sections["review_of_systems"]


def test_exam_vitals_and_plan(draft):
    exam = draft.sections["physical_exam"]
    assert "Blood pressure: 132/84 mmHg" in exam and "tenderness over the medial joint line" in exam
    plan = draft.sections["assessment_and_plan"]
    assert "We will order an MRI of her right knee".lower() in plan.lower()
    assert "order an mri" not in draft.sections["history_of_present_illness"].lower()


def test_findings_point_at_what_was_said(draft):
    turns = parse_transcript(VISIT)
    said = {(f.kind, turns[f.turn][1][f.start:f.end].lower()): f for f in draft.findings}
    assert said[("medication", "ibuprofen")].value == "400 mg"
    assert said[("allergy", "penicillin")].code == "70618"
    assert said[("vital", "blood pressure today is 132 over 84")].value == "132/84 mmHg"
    assert said[("order", "mri")].display == "MRI of the right knee"
    assert said[("problem", "fever")].negated and said[("problem", "chills")].negated
    assert not [f for f in draft.findings if f.kind == "medication" and f.code == "70618"]


def test_the_draft_names_its_engine_for_the_provenance(draft):
    assert draft.engine == "mederi-scribe" and draft.model and draft.version


@pytest.mark.parametrize("turns", [[], [("doctor", "")], [("[doctor]", "  "), ("[patient]", "...")]])
def test_an_empty_transcript_is_refused_with_a_clear_message(turns):
    with pytest.raises(EmptyTranscript, match="transcript is empty"):
        draft_note(turns)


def test_speaker_labels_and_continued_lines():
    turns = parse_transcript("[doctor] how are you?\n[patient] tired,\nand my back hurts.\nDoctor: noted.")
    assert turns == [("[doctor]", "how are you?"), ("[patient]", "tired, and my back hurts."), ("Doctor:", "noted.")]


@pytest.mark.dataset
def test_a_whole_training_visit_drafts_every_section_and_valid_spans():
    with open(shared_data("scribe", "aci-bench-train.csv"), newline="", encoding="utf-8") as handle:
        visit = next(csv.DictReader(handle))
    turns = parse_transcript(visit["dialogue"])
    draft = draft_note(turns)
    assert all(draft.sections[key] for key in SECTION_KEYS)
    assert draft.findings
    for finding in draft.findings:
        assert 0 <= finding.start < finding.end <= len(turns[finding.turn][1])
