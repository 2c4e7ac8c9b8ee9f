"""A small practice for the visit-note tests: a patient checked in for today, her doctor, a clinic."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mederi.accounts.context import context_for_user
from mederi.conftest import FrozenClock, staff_user
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


def system_repo() -> Repository:
    return Repository(Context.system("test"))


def make_appointment(appointment_id: str = "appt-1", status: str = "checked-in", patient_id: str = "pat-1") -> str:
    start = NOW - timedelta(minutes=30)
    system_repo().update("Appointment", appointment_id, {
        "resourceType": "Appointment", "id": appointment_id, "status": status,
        "appointmentType": {"coding": [{"system": systems.APPOINTMENT_TYPE, "code": "follow-up"}]},
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (start + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ"), "minutesDuration": 20,
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
                        {"actor": {"reference": "Practitioner/dr-ruiz"}, "status": "accepted"},
                        {"actor": {"reference": "Location/clinic"}, "status": "accepted"}],
    })
    return appointment_id


def clinician(username: str, practitioner_id: str, *roles: str) -> Context:
    user = staff_user(username, *(roles or ("physician",)))
    user.profile.practitioner_id = practitioner_id
    user.profile.save(update_fields=["practitioner_id"])
    return context_for_user(user, "10.0.0.9")


@pytest.fixture
def frozen(monkeypatch):
    return FrozenClock.install(monkeypatch, NOW)


@pytest.fixture
def practice(db, frozen):
    repo = system_repo()
    repo.update("Organization", "practice", {"resourceType": "Organization", "id": "practice", "name": "Riverside"})
    repo.update("Location", "clinic", {"resourceType": "Location", "id": "clinic", "name": "Main clinic",
                                       "managingOrganization": {"reference": "Organization/practice"}})
    repo.update("Patient", "pat-1", {"resourceType": "Patient", "id": "pat-1",
                                     "name": [{"family": "Lopez", "given": ["Maria"]}]})
    for practitioner_id, family, degree in (("dr-ruiz", "Ruiz", "MD"), ("np-lee", "Lee", "NP")):
        repo.update("Practitioner", practitioner_id, {
            "resourceType": "Practitioner", "id": practitioner_id, "name": [{"family": family}],
            "qualification": [{"code": {"coding": [{"system": systems.QUALIFICATION, "code": degree}]}}]})
    make_appointment()


@pytest.fixture
def doctor(practice) -> Context:
    return clinician("drruiz", "dr-ruiz")
