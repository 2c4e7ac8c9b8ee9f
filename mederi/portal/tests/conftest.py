"""Fixtures of the portal tests: a patient with an appointment on Friday, the demo pre-visit
questionnaire, staff users, and a clock the test sets.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mederi.accounts.context import context_for_user
from mederi.conftest import FrozenClock, staff_user
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.models import Resource
from mederi.fhir.repository import Repository
from mederi.portal import demo

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)  # Monday 8:00 in Chicago
VISIT = datetime(2026, 3, 6, 15, 0, tzinfo=timezone.utc)  # Friday 9:00 AM in Chicago
VISIT_DAY_END = datetime(2026, 3, 7, 6, 0, tzinfo=timezone.utc)  # Friday midnight in Chicago


@pytest.fixture(autouse=True)
def practice_in_chicago(settings):
    settings.MEDERI_PRACTICE_TIME_ZONE = "America/Chicago"


@pytest.fixture
def frozen(monkeypatch) -> FrozenClock:
    return FrozenClock.install(monkeypatch, NOW)


def system_repo() -> Repository:
    return Repository(Context.system("test"))


def make_patient(patient_id: str = "pat-1", given: str = "Maria", family: str = "Lopez") -> str:
    system_repo().update("Patient", patient_id, {
        "resourceType": "Patient", "id": patient_id, "birthDate": "1980-04-01", "gender": "female",
        "name": [{"use": "official", "family": family, "given": [given, "Elena"]}],
        "telecom": [{"system": "phone", "value": "+15551230001", "use": "mobile"}],
    })
    return patient_id


def make_appointment(appointment_id: str = "appt-1", patient_id: str = "pat-1", start: datetime = VISIT,
                     status: str = "booked") -> str:
    system_repo().update("Appointment", appointment_id, {
        "resourceType": "Appointment", "id": appointment_id, "status": status,
        "appointmentType": {"coding": [{"system": systems.APPOINTMENT_TYPE, "code": "follow-up"}]},
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (start + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ"), "minutesDuration": 20,
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
                        {"actor": {"reference": "Practitioner/dr-ruiz"}, "status": "accepted"}],
    })
    return appointment_id


def response_count() -> int:
    return Resource.objects.filter(resource_type="QuestionnaireResponse").count()


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def context_of(user) -> Context:
    return context_for_user(user)


@pytest.fixture
def practice(db, frozen):
    """Maria Lopez, her appointment on Friday 9:00 AM, and the practice's pre-visit questionnaire."""
    make_patient()
    make_appointment()
    demo.load_demo(NOW.date())
    return "appt-1"


@pytest.fixture
def frontdesk(db):
    return staff_user("frontdesk", "front_desk")


@pytest.fixture
def nurse(db):
    return staff_user("nurse", "nurse")


@pytest.fixture
def auditor(db):
    return staff_user("auditor", "auditor")
