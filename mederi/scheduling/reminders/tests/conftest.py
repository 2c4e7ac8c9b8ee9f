"""Factories and fixtures of the reminders tests: a small practice in the record, a clock the test
sets, and the local stand-ins of the outside services.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connections

from mederi.conftest import FrozenClock
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.scheduling.reminders.models import ReminderRule
from mederi.scheduling.reminders.standin import LocalSmtpServer, SmsProviderStandIn

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # a Monday morning
MOBILE = "+15551230001"


@pytest.fixture(autouse=True)
def practice_clock_in_utc(settings):
    """The practice keeps UTC in these tests, so times read as stored; test_timing tries other zones."""
    settings.MEDERI_PRACTICE_TIME_ZONE = "UTC"


@pytest.fixture
def frozen(monkeypatch) -> FrozenClock:
    return FrozenClock.install(monkeypatch, NOW)


def system_repo() -> Repository:
    return Repository(Context.system("test"))


def make_patient(patient_id: str = "pat-1", *, given: str = "Maria", mobile: str | None = MOBILE,
                 email: str | None = "maria@example.org", home: str | None = None) -> str:
    telecom = []
    if mobile:
        telecom.append({"system": "phone", "value": mobile, "use": "mobile"})
    if home:
        telecom.append({"system": "phone", "value": home, "use": "home"})
    if email:
        telecom.append({"system": "email", "value": email})
    resource = {"resourceType": "Patient", "id": patient_id, "name": [{"use": "official", "family": "Lopez",
                                                                     "given": [given]}],
                "birthDate": "1980-04-01", "gender": "female"}
    if telecom:
        resource["telecom"] = telecom
    system_repo().update("Patient", patient_id, resource)
    return patient_id


def make_practice() -> None:
    repo = system_repo()
    repo.update("Practitioner", "dr-ruiz", {"resourceType": "Practitioner", "id": "dr-ruiz",
                                            "name": [{"family": "Ruiz", "given": ["Ana"], "prefix": ["Dr."]}]})
    repo.update("Location", "main", {"resourceType": "Location", "id": "main", "status": "active",
                                     "name": "Riverside main clinic"})


def make_appointment(appointment_id: str = "appt-1", *, patient_id: str = "pat-1",
                     start: datetime | None = None, status: str = "booked", type_code: str = "follow-up",
                     minutes: int = 20) -> str:
    start = start or NOW + timedelta(days=4, hours=1)  # Friday 9:00 UTC
    resource = {
        "resourceType": "Appointment", "id": appointment_id, "status": status,
        "appointmentType": {"coding": [{"system": systems.APPOINTMENT_TYPE, "code": type_code}]},
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "minutesDuration": minutes,
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "needs-action"},
            {"actor": {"reference": "Practitioner/dr-ruiz"}, "status": "accepted"},
            {"actor": {"reference": "Location/main"}, "status": "accepted"},
        ],
    }
    system_repo().update("Appointment", appointment_id, resource)
    return appointment_id


def change_appointment(appointment_id: str, **changes) -> dict:
    repo = system_repo()
    resource = repo.read("Appointment", appointment_id).as_dict()
    if "start" in changes:
        start = changes.pop("start")
        resource["start"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        resource["end"] = (start + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resource.update(changes)
    repo.update("Appointment", appointment_id, resource)
    return resource


def read_appointment(appointment_id: str = "appt-1") -> dict:
    return system_repo().read("Appointment", appointment_id).as_dict()


def make_rule(name: str = "SMS 2 hours before", *, channel: str = "sms", amount: int = 2, unit: str = "hours",
              appointment_type: str = "", template: str | None = None, active: bool = True) -> ReminderRule:
    template = template or "Hi {patient_first_name}, see {provider} on {date} at {time}, {location}."
    return ReminderRule.objects.create(name=name, channel=channel, offset_amount=amount, offset_unit=unit,
                                       appointment_type=appointment_type, template=template, active=active)


@pytest.fixture
def practice(db, frozen):
    """A patient with a mobile phone and an email, a doctor, a clinic, and one appointment on Friday 9:00."""
    make_practice()
    make_patient()
    make_appointment()
    return "appt-1"


@pytest.fixture
def smtp_server():
    with LocalSmtpServer() as server:
        yield server


@pytest.fixture
def smtp_settings(settings, smtp_server):
    settings.MEDERI_EMAIL_PROVIDER = "smtp"
    settings.MEDERI_SMTP_HOST = smtp_server.host
    settings.MEDERI_SMTP_PORT = smtp_server.port
    settings.MEDERI_SMTP_STARTTLS = False
    settings.MEDERI_SMTP_USER = ""
    settings.MEDERI_REMINDER_FROM_EMAIL = "reminders@riverside.example"
    return smtp_server


@pytest.fixture
def sms_provider():
    with SmsProviderStandIn("ACtest", "secret-token", number="+15550100000") as provider:
        yield provider


WEBHOOK_BASE = "http://testserver"


@pytest.fixture
def sms_settings(settings, sms_provider):
    settings.MEDERI_SMS_PROVIDER = "twilio"
    settings.MEDERI_SMS_BASE_URL = sms_provider.base_url
    settings.MEDERI_SMS_ACCOUNT_SID = sms_provider.account_sid
    settings.MEDERI_SMS_AUTH_TOKEN = sms_provider.auth_token
    settings.MEDERI_SMS_FROM = sms_provider.number
    settings.MEDERI_REMINDER_WEBHOOK_BASE = WEBHOOK_BASE
    return sms_provider


@contextmanager
def database_threads_can_share(tmp_path):
    """Threads each get their own connection to one database, as workers do in production.

    PostgreSQL's test database already allows that. SQLite's is in memory with a shared cache, whose
    table locks fail at once instead of waiting; so the test runs on a copy in a file (WAL, busy
    timeout: the production settings) and returns to the in-memory one afterwards.
    """
    main = connections["default"]
    if main.vendor != "sqlite":
        yield
        return
    path = tmp_path / "shared.sqlite3"
    main.ensure_connection()
    with sqlite3.connect(path) as target:
        main.connection.backup(target)
    target.close()
    handler_settings = connections.settings
    connections.__dict__["settings"] = {**handler_settings, "default": {**handler_settings["default"],
                                                                       "NAME": str(path)}}
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        connections["default"] = main
        connections.__dict__["settings"] = handler_settings
