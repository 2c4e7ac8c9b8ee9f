"""The visit-note practice (a patient checked in, her doctor) and a drafted note to code."""

import pytest
from django.utils.datastructures import MultiValueDict

from mederi.clinical.notes import encounters
from mederi.clinical.notes import services as notes
from mederi.clinical.notes.tests.conftest import doctor, frozen, practice  # noqa: F401 (fixtures)

NOTE = {"chief-complaint": "Cough and fever for three days",
        "hpi": "Productive cough, fever. Denies chest pain. No history of diabetes.",
        "assessment-text": "Acute bronchitis. Essential hypertension, stable on lisinopril.",
        "plan-text": "Continue lisinopril 10 mg daily. Fluids and rest. Spent 25 minutes with the patient."}


def write_note(context, answers: dict) -> str:
    encounter_id = encounters.start_visit(context, "appt-1").encounter_id
    saved = notes.save_draft(context, encounter_id, MultiValueDict({k: [v] for k, v in answers.items()}),
                             template_id="note-adult-visit-1")
    return saved.composition_id


@pytest.fixture
def note(doctor):  # noqa: F811
    return write_note(doctor, NOTE)
