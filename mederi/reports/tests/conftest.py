"""A small practice with two weeks of history, built through the record and the scheduling services.

The period every test reads is the two whole weeks before the current one (`Practice.first`
to `Practice.last`), so every appointment in it has had its time pass, whatever day the tests
run. What happened in it:

    Dr Ruiz, Main clinic, Mon-Fri 8-12 and 13-17 (480 min a day)
    Dr Okafor, Main clinic Mon-Thu 8-12 (240 min); North clinic Fri 8-12 with a 10:00-10:30 break (210 min)
    Holiday on the first Wednesday (everywhere); Dr Ruiz away the second Thursday afternoon

    week 1  Ruiz    Mon 08:00 New patient (40)  pat-a  done
                    Mon 09:00 Follow-up (20)    pat-b  no-show
                    Mon 10:00 Follow-up (20)    pat-c  cancelled
            Okafor  Mon 08:00 Sick visit (15)   pat-d  done
                    Fri 08:00 Follow-up (20)    pat-a  no-show (North clinic)
    week 2  Ruiz    Mon 08:00 Follow-up (20)    pat-a  still booked (never marked)
                    Mon 08:30 Sick visit (15)   pat-b  arrived
                    Tue 09:00 New patient (40)  pat-c  checked in
            Okafor  Mon 08:00 New patient (40)  pat-b  no-show
                    Mon 09:00 Follow-up (20)    pat-c  done
    next week Ruiz  Mon 10:00 Follow-up (20)    pat-d  booked (in the future)

Eligibility checks (checked on the second Monday unless said): pat-a coverage not active (Acme
Health), pat-b rejected by Medicare (bad member id), pat-c no answer from Acme Health, pat-d
active (not a failure), pat-d no answer three days before the period (outside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client

from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.scheduling import practice_time

SYSTEM = Context.system("test")


@dataclass(frozen=True)
class Practice:
    first: date  # Monday of week 1
    last: date  # Sunday of week 2
    next_monday: date
    appointments: dict[str, str]  # label -> Appointment id

    @property
    def second_monday(self) -> date:
        return self.first + timedelta(days=7)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm))


def make_directory() -> None:
    repo = Repository(SYSTEM)
    for location_id, name in (("clinic-main", "Main clinic"), ("clinic-north", "North clinic")):
        repo.update("Location", location_id, {"resourceType": "Location", "id": location_id, "status": "active",
                                              "name": name})
    for pid, family, given in (("dr-ruiz", "Ruiz", "Ana"), ("dr-okafor", "Okafor", "James"),
                               ("dr-lee", "Lee", "Min")):
        repo.update("Practitioner", pid, {"resourceType": "Practitioner", "id": pid, "active": True,
                                          "name": [{"family": family, "given": [given], "prefix": ["Dr."]}]})
    for number, (pid, family, given) in enumerate((("pat-a", "Chalmers", "Peter"), ("pat-b", "Nunez", "Maria"),
                                                   ("pat-c", "Haddad", "Samir"), ("pat-d", "Berg", "Ingrid")), 1):
        repo.update("Patient", pid, {
            "resourceType": "Patient", "id": pid, "active": True, "birthDate": "1970-01-01",
            "identifier": [{"system": systems.mrn_system(), "value": f"MRN{number:05d}"}],
            "name": [{"use": "official", "family": family, "given": [given]}]})


def make_templates(first: date) -> None:
    from mederi.scheduling import services

    for code, name, minutes, colour in (("new", "New patient", 40, "purple"), ("fu", "Follow-up", 20, "blue"),
                                        ("sick", "Sick visit", 15, "orange")):
        services.save_appointment_type(SYSTEM, code, name, minutes, colour)
    for weekday in range(5):
        services.add_weekly_hours(SYSTEM, "dr-ruiz", "clinic-main", weekday, time(8), time(12))
        services.add_weekly_hours(SYSTEM, "dr-ruiz", "clinic-main", weekday, time(13), time(17))
    for weekday in range(4):
        services.add_weekly_hours(SYSTEM, "dr-okafor", "clinic-main", weekday, time(8), time(12))
    services.add_weekly_hours(SYSTEM, "dr-okafor", "clinic-north", 4, time(8), time(12))
    services.add_break(SYSTEM, "dr-okafor", "clinic-north", 4, time(10), time(10, 30))
    services.add_holiday(SYSTEM, first + timedelta(days=2), "Founders' day")
    thursday = first + timedelta(days=10)
    services.add_exception(SYSTEM, "dr-ruiz", at(thursday, 13), at(thursday, 17), "closed", reason="Training")


def make_appointments(first: date, next_monday: date) -> dict[str, str]:
    from mederi.scheduling import services

    second = first + timedelta(days=7)
    plan = (
        # label, provider, location, start, type, patient, what happened
        ("ruiz-1", "dr-ruiz", "clinic-main", at(first, 8), "new", "pat-a", ("check-in", "check-out")),
        ("ruiz-2", "dr-ruiz", "clinic-main", at(first, 9), "fu", "pat-b", ("no-show",)),
        ("ruiz-3", "dr-ruiz", "clinic-main", at(first, 10), "fu", "pat-c", ("cancel",)),
        ("okafor-1", "dr-okafor", "clinic-main", at(first, 8), "sick", "pat-d", ("check-in", "check-out")),
        ("okafor-2", "dr-okafor", "clinic-north", at(first + timedelta(days=4), 8), "fu", "pat-a", ("no-show",)),
        ("ruiz-4", "dr-ruiz", "clinic-main", at(second, 8), "fu", "pat-a", ()),
        ("ruiz-5", "dr-ruiz", "clinic-main", at(second, 8, 30), "sick", "pat-b", ("arrive",)),
        ("ruiz-6", "dr-ruiz", "clinic-main", at(second + timedelta(days=1), 9), "new", "pat-c", ("check-in",)),
        ("okafor-3", "dr-okafor", "clinic-main", at(second, 8), "new", "pat-b", ("no-show",)),
        ("okafor-4", "dr-okafor", "clinic-main", at(second, 9), "fu", "pat-c", ("check-in", "check-out")),
        ("ruiz-future", "dr-ruiz", "clinic-main", at(next_monday, 10), "fu", "pat-d", ()),
    )
    made = {}
    for label, provider, location, start, kind, patient, steps in plan:
        appointment_id = services.book_appointment(SYSTEM, patient, provider, location, start, kind, allow_past=True)
        for step in steps:
            if step == "cancel":
                services.cancel_appointment(SYSTEM, appointment_id, "pat")
            else:
                services.change_stage(SYSTEM, appointment_id, step)
        made[label] = appointment_id
    return made


def make_eligibility_checks(second_monday: date) -> None:
    """Stored checks as billing stores them: request and response in the record, a row in its index."""
    from mederi.billing import eligibility_resources as er
    from mederi.billing.models import EligibilityCheck
    from mederi.billing.x12.records import Rejection
    from mederi.billing.x12.response import EligibilityResult

    repo = Repository(SYSTEM)
    checks = (
        ("pat-a", "acme", "Acme Health", second_monday, "inactive"),
        ("pat-b", "medicare", "Medicare", second_monday, "rejected"),
        ("pat-c", "acme", "Acme Health", second_monday + timedelta(days=1), "failed"),
        ("pat-d", "acme", "Acme Health", second_monday, "active"),
        ("pat-d", "acme", "Acme Health", second_monday - timedelta(days=10), "failed"),
    )
    for number, (patient, payer, payer_name, day, outcome) in enumerate(checks, 1):
        checked_at = practice_time.to_utc(at(day, 10, number))
        facts = er.CheckFacts(request_id=f"req-{number}", response_id=f"resp-{number}", patient_id=patient,
                              coverage_id=f"cov-{patient}", payer_id=payer, payer_name=payer_name,
                              provider_id="practice", service_date=day, created=checked_at)
        if outcome == "failed":
            response = er.failed_response(facts, er.NO_ANSWER, f"{payer_name} did not answer within 30 seconds.")
        elif outcome == "rejected":
            response = er.answered_response(facts, EligibilityResult(
                rejections=[Rejection(code="72", action_code="C", valid_request=True, level="subscriber")]))
        else:
            response = er.answered_response(facts, EligibilityResult())
            response["insurance"][0]["inforce"] = outcome == "active"
            response["disposition"] = ("Coverage active" if outcome == "active"
                                       else "Coverage not active (ended 2025-12-31)")
        with repo.atomic():
            repo.create(er.request_resource(facts), logical_id=facts.request_id)
            repo.create(response, logical_id=facts.response_id)
        EligibilityCheck.objects.create(coverage_id=facts.coverage_id, patient_id=patient, payer_id=payer,
                                        request_id=facts.request_id, response_id=facts.response_id, status=outcome,
                                        answered=outcome != "failed", service_date=day, checked_at=checked_at,
                                        checked_on=day)


def build_practice() -> Practice:
    today = practice_time.today()
    this_monday = today - timedelta(days=today.weekday())
    first = this_monday - timedelta(days=14)
    next_monday = this_monday + timedelta(days=7)
    make_directory()
    make_templates(first)
    appointments = make_appointments(first, next_monday)
    make_eligibility_checks(first + timedelta(days=7))
    return Practice(first, this_monday - timedelta(days=1), next_monday, appointments)


@pytest.fixture
def practice(db) -> Practice:
    return build_practice()


def context_of(username: str, *roles: str) -> Context:
    from mederi.accounts.context import context_for_user
    from mederi.conftest import staff_user

    return context_for_user(staff_user(username, *roles))


def signed_in(username: str, *roles: str) -> Client:
    from mederi.conftest import staff_user

    client = Client()
    client.force_login(staff_user(username, *roles))
    return client
