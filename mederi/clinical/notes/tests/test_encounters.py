"""The encounter starts when the visit starts and ends when its note is signed."""

from __future__ import annotations

import pytest

from mederi.clinical.notes import encounters
from mederi.clinical.notes.tests.conftest import make_appointment, system_repo
from mederi.conftest import record_row_counts
from mederi.core.errors import InvalidRequest

pytestmark = pytest.mark.django_db


def test_starting_the_visit_of_a_checked_in_patient_opens_an_encounter(doctor):
    visit = encounters.start_visit(doctor, "appt-1")

    encounter = system_repo().read("Encounter", visit.encounter_id).as_dict()
    assert visit.created
    assert encounter["status"] == "in-progress"
    assert encounter["class"]["code"] == "AMB"
    assert encounter["subject"] == {"reference": "Patient/pat-1"}
    assert encounter["appointment"] == [{"reference": "Appointment/appt-1"}]
    assert encounter["participant"][0]["individual"] == {"reference": "Practitioner/dr-ruiz"}
    assert encounter["period"] == {"start": "2026-03-02T15:00:00.000Z"}
    assert encounter["location"][0]["location"] == {"reference": "Location/clinic"}
    assert encounter["serviceProvider"] == {"reference": "Organization/practice"}


def test_starting_again_reopens_the_same_encounter(doctor):
    first = encounters.start_visit(doctor, "appt-1")
    repo = system_repo()
    stored = repo.read("Encounter", first.encounter_id).as_dict()
    repo.update("Encounter", first.encounter_id, {**stored, "status": "onleave"})

    again = encounters.start_visit(doctor, "appt-1")

    assert again.encounter_id == first.encounter_id and not again.created
    assert repo.read("Encounter", first.encounter_id).as_dict()["status"] == "in-progress"


def test_a_visit_cannot_start_before_the_patient_is_checked_in(doctor):
    make_appointment("appt-2", status="booked")
    before = record_row_counts()
    with pytest.raises(InvalidRequest) as refused:
        encounters.start_visit(doctor, "appt-2")
    assert "checked in" in str(refused.value)
    assert record_row_counts() == before


def test_finishing_ends_the_encounter_and_checks_the_patient_out(doctor, frozen):
    visit = encounters.start_visit(doctor, "appt-1")
    frozen.advance(minutes=25)

    encounters.finish_encounter(doctor, visit.encounter_id)

    repo = system_repo()
    encounter = repo.read("Encounter", visit.encounter_id).as_dict()
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"] == "2026-03-02T15:25:00.000Z"
    appointment = repo.read("Appointment", "appt-1").as_dict()
    assert appointment["status"] == "fulfilled"
