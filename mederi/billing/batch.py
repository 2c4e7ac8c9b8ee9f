"""The nightly eligibility batch: check every coverage of every patient booked for tomorrow.

`check_tomorrow(today)` finds tomorrow's booked Appointments through the repository, the active
Coverages of their patients, and checks each coverage once. A coverage whose payer already
answered today is skipped, so running the batch again (a retry, a second worker, a manual run)
sends nothing twice; a check that got no answer is tried again. One coverage failing never stops
the others. Progress goes to the `mederi.billing.batch` log, one line per coverage.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from mederi.billing import practice
from mederi.billing.models import EligibilityCheck
from mederi.billing.services import OFFICE_VISIT_CHECK, EligibilityError, check_eligibility
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository

log = logging.getLogger(__name__)
PAGE = 500


@dataclass
class BatchReport:
    """What a run did; `problems` has one line per coverage that could not be checked or was not in force."""

    day: dt.date  # the appointment day that was checked
    appointments: int = 0
    patients: int = 0
    coverages: int = 0
    checked: int = 0
    skipped: int = 0  # already answered today
    not_active: int = 0  # answered: inactive, rejected
    failed: int = 0  # no usable answer, or the check could not be made
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"eligibility for {self.day}: {self.appointments} appointments, {self.patients} patients, "
                f"{self.coverages} coverages; {self.checked} checked, {self.skipped} already checked today, "
                f"{self.not_active} not active or rejected, {self.failed} failed")


def _instant(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _all(repository: Repository, resource_type: str, params: list[tuple[str, str]]):
    """Every match of a search, page by page."""
    offset = 0
    while True:
        result = repository.search(resource_type, [*params, ("_count", str(PAGE)), ("_offset", str(offset)),
                                                   ("_total", "none"), ("_sort", "_id")])
        yield from result.matches
        if len(result.matches) < PAGE:
            return
        offset += PAGE


def patients_booked_on(repository: Repository, day: dt.date) -> tuple[int, list[str]]:
    """(how many booked appointments start on `day`, the ids of their patients in order of first appearance)."""
    start, end = practice.day_bounds(day)
    appointments, patients = 0, {}
    for stored in _all(repository, "Appointment", [("date", f"ge{_instant(start)}"), ("date", f"lt{_instant(end)}"),
                                                  ("status", "booked")]):
        appointments += 1
        for participant in stored.as_dict().get("participant") or ():
            reference = (participant.get("actor") or {}).get("reference") or ""
            if reference.startswith("Patient/"):
                patients.setdefault(reference[len("Patient/"):], None)
    return appointments, list(patients)


def active_coverages(repository: Repository, patient_ids: list[str]) -> list[str]:
    """The ids of the active Coverages whose beneficiary is one of `patient_ids`."""
    coverages: list[str] = []
    for start in range(0, len(patient_ids), 100):
        beneficiaries = ",".join(f"Patient/{pid}" for pid in patient_ids[start:start + 100])
        coverages += [s.logical_id for s in _all(repository, "Coverage", [("beneficiary", beneficiaries),
                                                                          ("status", "active")])]
    return list(dict.fromkeys(coverages))


def check_tomorrow(today: dt.date | None = None, *, context: Context | None = None) -> BatchReport:
    """Check the coverages of everyone booked for the day after `today` (the practice's today by default)."""
    context = context or Context.system("eligibility")
    today = today or practice.today()
    tomorrow = today + dt.timedelta(days=1)
    repository = Repository(context)
    report = BatchReport(day=tomorrow)
    report.appointments, patients = patients_booked_on(repository, tomorrow)
    report.patients = len(patients)
    coverages = active_coverages(repository, patients)
    report.coverages = len(coverages)
    # "Today" for skipping is the day the checks are stored under: the practice's real day.
    answered_today = set(EligibilityCheck.objects.filter(coverage_id__in=coverages, checked_on=practice.today(),
                                                         answered=True).values_list("coverage_id", flat=True))
    log.info("eligibility batch for %s: %d coverages of %d patients", tomorrow, len(coverages), len(patients))
    for position, coverage_id in enumerate(coverages, start=1):
        progress = f"[{position}/{len(coverages)}] Coverage/{coverage_id}"
        if coverage_id in answered_today:
            report.skipped += 1
            log.info("%s: already checked today", progress)
            continue
        try:
            summary = check_eligibility(context, coverage_id, service_types=OFFICE_VISIT_CHECK, when=tomorrow)
        except EligibilityError as error:
            report.failed += 1
            report.problems.append(f"Coverage/{coverage_id}: {error.message}")
            log.warning("%s: not checked: %s", progress, error.message)
            continue
        except MederiError as error:
            report.failed += 1
            report.problems.append(f"Coverage/{coverage_id}: {error}")
            log.warning("%s: not checked: %s", progress, error)
            continue
        except Exception as error:  # one broken coverage must not stop the night's batch
            report.failed += 1
            report.problems.append(f"Coverage/{coverage_id}: unexpected error ({type(error).__name__}: {error})")
            log.exception("%s: unexpected error", progress)
            continue
        report.checked += 1
        if summary.status == EligibilityCheck.FAILED:
            report.failed += 1
        elif summary.is_problem:
            report.not_active += 1
        if summary.is_problem:
            report.problems.append(f"Coverage/{coverage_id}: {summary.label}: {'; '.join(summary.messages)}")
        log.info("%s: %s", progress, summary.label)
    log.info("%s (at %s)", report, clock.fhir_instant(clock.now()))
    return report
