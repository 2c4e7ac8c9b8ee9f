"""A small practice for the scheduling tests: two providers, two clinics, three patients,
appointment types, and weekday hours (8-12 and 13-17, lunch between) at the main clinic."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from mederi.core.context import Context
from mederi.fhir.repository import Repository

SYSTEM = Context.system("test")


def next_monday(weeks_ahead: int = 1) -> date:
    from mederi.scheduling import practice_time

    today = practice_time.today()
    return today + timedelta(days=7 - today.weekday() + 7 * (weeks_ahead - 1))


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """A naive local time: the services read it as the practice's wall clock."""
    return datetime.combine(day, time(hh, mm))


def make_directory() -> None:
    repo = Repository(SYSTEM)
    repo.update("Location", "clinic-main", {"resourceType": "Location", "id": "clinic-main", "status": "active",
                                            "name": "Main clinic"})
    repo.update("Location", "clinic-north", {"resourceType": "Location", "id": "clinic-north", "status": "active",
                                             "name": "North clinic"})
    for pid, family, given in (("dr-ruiz", "Ruiz", "Ana"), ("dr-okafor", "Okafor", "James")):
        repo.update("Practitioner", pid, {"resourceType": "Practitioner", "id": pid, "active": True,
                                          "name": [{"family": family, "given": [given], "prefix": ["Dr."]}]})
    for pid, family, given in (("pat-a", "Chalmers", "Peter"), ("pat-b", "Nunez", "Maria"),
                               ("pat-c", "Haddad", "Samir")):
        repo.update("Patient", pid, {"resourceType": "Patient", "id": pid, "active": True,
                                     "name": [{"use": "official", "family": family, "given": [given]}],
                                     "birthDate": "1970-01-01"})


def make_templates() -> None:
    from mederi.scheduling import services

    for code, name, minutes, colour in (("new", "New patient", 40, "purple"), ("fu", "Follow-up", 20, "blue"),
                                        ("sick", "Sick visit", 15, "orange")):
        services.save_appointment_type(SYSTEM, code, name, minutes, colour)
    for practitioner in ("dr-ruiz", "dr-okafor"):
        for weekday in range(5):
            services.add_weekly_hours(SYSTEM, practitioner, "clinic-main", weekday, time(8), time(12))
            services.add_weekly_hours(SYSTEM, practitioner, "clinic-main", weekday, time(13), time(17))


@pytest.fixture
def practice(db):
    make_directory()
    make_templates()
    return next_monday()


@pytest.fixture
def frontdesk(db):
    from mederi.accounts.context import context_for_user
    from mederi.conftest import staff_user

    return context_for_user(staff_user("fran", "front_desk"))
