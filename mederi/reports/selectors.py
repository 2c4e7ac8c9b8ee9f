"""The reports: no-show rate, provider utilization, appointments by type and status, eligibility failures.

Each function takes who is asking, a period of practice days (both ends included) and optional
location and provider filters, checks the caller's permission and the filters, reads what it
needs in a few queries and returns plain dataclasses that the pages, the CSV files and the charts
are made from. Appointment figures are counted by the database from the reports' appointment
facts, brought up to date with the record before every report (facts.py); open time comes from
the availability templates; eligibility failures come from billing.

Every call writes one audit entry: a `search` (or the `audit_action` given, e.g. `export` for a
CSV file) with the question asked and the counts. The appointment reports show aggregates only;
the eligibility failures name patients, and their ids are listed in the entry.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from mederi.audit import services as audit
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Forbidden
from mederi.fhir.repository import Repository
from mederi.reports import facts
from mederi.reports.errors import ReportError
from mederi.scheduling import practice_time, records
from mederi.scheduling.availability import Templates
from mederi.scheduling.models import AppointmentType

MAX_DAYS = 366  # a year, leap or not
# Appointments the patient was expected at: the ones not cancelled, offered or waiting.
DUE = ("booked", "pending", "arrived", "checked-in", "fulfilled", "noshow")
NOT_MARKED = ("booked", "pending")  # still waiting for the patient after their time
# Appointments that take up the provider's time.
OCCUPYING = ("booked", "pending", "arrived", "checked-in", "fulfilled")
# The order statuses are shown in: the way a visit goes, then the ones that did not happen.
STATUS_ORDER = ("proposed", "pending", "waitlist", "booked", "arrived", "checked-in", "fulfilled", "noshow",
                "cancelled", "entered-in-error")
NO_PROVIDER = "No provider"
NO_LOCATION = "No location"
NO_TYPE = "No type"
PERCENT = Decimal("0.1")


# -- filters and periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The question a report answers: a period of practice days and, optionally, one location and one provider."""

    date_from: date
    date_to: date
    location_id: str | None = None
    practitioner_id: str | None = None
    location_name: str = ""
    practitioner_name: str = ""

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants where the first day begins and the last day ends."""
        return practice_time.day_bounds(self.date_from)[0], practice_time.day_bounds(self.date_to)[1]

    def described(self) -> str:
        """The filters as the audit log records them."""
        return (f"from={self.date_from.isoformat()} to={self.date_to.isoformat()} "
                f"location={self.location_id or 'all'} provider={self.practitioner_id or 'all'}")


@dataclass(frozen=True)
class Week:
    """One week of the period, Monday to Sunday, cut at the period's ends."""

    first: date
    last: date


def _require(context: Context, permission: str, report: str) -> None:
    if context.is_system or permission in context.permissions:
        return
    raise Forbidden(f"your roles do not allow you to see the {report} (it needs the permission {permission})")


def check_filters(date_from, date_to, location_id: str | None = None, practitioner_id: str | None = None) -> Filters:
    """The filters, checked: real dates, a period that ends on or after its start and is at most a
    year long, a location and a provider that exist. Raises ReportError naming the filter."""
    from mederi.scheduling.selectors import locations, practitioner_names

    if not isinstance(date_from, date):
        raise ReportError.at("date_from", "Give the first day of the period, like 2026-03-01.")
    if not isinstance(date_to, date):
        raise ReportError.at("date_to", "Give the last day of the period, like 2026-03-31.")
    date_from = date_from.date() if isinstance(date_from, datetime) else date_from
    date_to = date_to.date() if isinstance(date_to, datetime) else date_to
    if date_to < date_from:
        raise ReportError.at("date_to", f"The period ends ({practice_time.day_text(date_to)}) before it starts "
                                        f"({practice_time.day_text(date_from)}). "
                                        "Choose a last day on or after the first.")
    days = (date_to - date_from).days + 1
    if days > MAX_DAYS:
        raise ReportError.at("date_from", f"The period is {days} days long. Choose at most a year ({MAX_DAYS} days).")
    location_name = practitioner_name = ""
    if location_id:
        location_name = dict(locations()).get(location_id, "")
        if not location_name:
            raise ReportError.at("location", f"There is no location '{location_id}'. Choose one from the list.")
    if practitioner_id:
        practitioner_name = practitioner_names([practitioner_id]).get(practitioner_id, "")
        if not practitioner_name:
            raise ReportError.at("provider", f"There is no provider '{practitioner_id}'. Choose one from the list.")
    return Filters(date_from, date_to, location_id or None, practitioner_id or None, location_name, practitioner_name)


def weeks_of(date_from: date, date_to: date) -> list[Week]:
    """The weeks (Monday to Sunday) the period touches, the first and last cut at its ends."""
    weeks, first = [], date_from
    while first <= date_to:
        next_monday = first + timedelta(days=7 - first.weekday())
        weeks.append(Week(first, min(next_monday - timedelta(days=1), date_to)))
        first = next_monday
    return weeks


def percent(part: int, whole: int) -> Decimal | None:
    """part/whole as a percentage with one decimal (half up); None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT, rounding=ROUND_HALF_UP)


def minutes_text(minutes: int) -> str:
    """"7 h 30 min", "45 min", "0 min": how long, as a person says it."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def _names(ids) -> dict[str, str]:
    from mederi.scheduling.selectors import practitioner_names

    return practitioner_names([i for i in ids if i])


def _audit_counts(context: Context, action: str, report: str, filters: Filters, detail: dict) -> None:
    audit.record(context, action, resource_type="Appointment", query=f"report: {report} {filters.described()}",
                 detail=detail)


# -- no-show rate -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoShowRow:
    """A provider's (or everyone's) appointments whose time has passed."""

    practitioner_id: str
    name: str
    due: int  # expected: not cancelled, offered or waiting, and their start has passed
    no_shows: int
    not_marked: int  # still booked after their time: neither arrived nor marked a no-show
    rate: Decimal | None  # no-shows per 100 due, one decimal; None when nothing was due


@dataclass(frozen=True)
class NoShowWeek:
    first: date
    last: date
    due: int
    no_shows: int
    rate: Decimal | None


@dataclass(frozen=True)
class NoShowReport:
    filters: Filters
    as_of: datetime  # appointments starting before this moment are counted
    providers: list[NoShowRow]
    total: NoShowRow
    weeks: list[NoShowWeek]  # the weeks of the period that have begun


def _no_show_row(practitioner_id: str, name: str, statuses: dict[str, int]) -> NoShowRow:
    due = sum(statuses.values())
    no_shows = statuses.get("noshow", 0)
    return NoShowRow(practitioner_id, name, due, no_shows, sum(statuses.get(s, 0) for s in NOT_MARKED),
                     percent(no_shows, due))


def no_show_rate(context: Context, date_from: date, date_to: date, location_id: str | None = None,
                 practitioner_id: str | None = None, *, audit_action: str = "search") -> NoShowReport:
    """No-shows among the appointments of the period whose start has passed, per provider and per week."""
    _require(context, "scheduling.read", "no-show report")
    filters = check_filters(date_from, date_to, location_id, practitioner_id)
    now = clock.now()
    start, end = filters.bounds
    weeks = weeks_of(filters.date_from, filters.date_to)
    groups = []
    if start < now:
        groups = facts.synced_count(start, min(end, now), by=("status", "practitioner_id"), statuses=DUE,
                                    week_starts=[practice_time.day_bounds(w.first)[0] for w in weeks[1:]],
                                    location_id=filters.location_id, practitioner_id=filters.practitioner_id)
    by_provider: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_week: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    overall: dict[str, int] = defaultdict(int)
    for group in groups:
        by_provider[group.practitioner_id][group.status] += group.count
        by_week[group.week][group.status] += group.count
        overall[group.status] += group.count
    if filters.practitioner_id:
        by_provider.setdefault(filters.practitioner_id, defaultdict(int))
    names = _names(by_provider)
    rows = sorted((_no_show_row(pid, names.get(pid, pid) if pid else NO_PROVIDER, statuses)
                   for pid, statuses in by_provider.items()), key=lambda r: (r.name.lower(), r.practitioner_id))
    today = practice_time.local_day(now)
    week_rows = []
    for index, week in enumerate(weeks):
        if week.first > today:
            break
        row = _no_show_row("", "", by_week.get(index, {}))
        week_rows.append(NoShowWeek(week.first, week.last, row.due, row.no_shows, row.rate))
    report = NoShowReport(filters, now, rows, _no_show_row("", "All providers", overall), week_rows)
    _audit_counts(context, audit_action, "no-show rate", filters,
                  {"appointments": report.total.due, "no_shows": report.total.no_shows, "providers": len(rows)})
    return report


# -- provider utilization ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UtilizationRow:
    """A provider at a location: open time from the templates, and how much of it was booked."""

    practitioner_id: str
    name: str
    location_id: str
    location_name: str
    open_minutes: int
    booked_minutes: int  # appointments that take up time: booked, pending, arrived, checked in, done
    appointments: int
    utilization: Decimal | None  # booked per 100 open minutes, one decimal; None without open time

    @property
    def open_text(self) -> str:
        return minutes_text(self.open_minutes)

    @property
    def booked_text(self) -> str:
        return minutes_text(self.booked_minutes)


@dataclass(frozen=True)
class UtilizationReport:
    filters: Filters
    rows: list[UtilizationRow]
    total: UtilizationRow


def _open_minutes(filters: Filters) -> dict[tuple[str, str], int]:
    """Open minutes of each (provider, location) in the period, from the availability templates."""
    templates = Templates([filters.practitioner_id] if filters.practitioner_id else None, filters.location_id,
                          filters.date_from, filters.date_to)
    days = [filters.date_from + timedelta(days=n) for n in range(filters.days)]
    found = {}
    for practitioner_id, location_id in templates.pairs():
        if filters.location_id and location_id != filters.location_id:
            continue
        seconds = sum((i.end - i.start).total_seconds() for day in days
                      for i in templates.open_intervals(practitioner_id, location_id, day))
        found[(practitioner_id, location_id)] = int(seconds // 60)
    return found


def provider_utilization(context: Context, date_from: date, date_to: date, location_id: str | None = None,
                         practitioner_id: str | None = None, *, audit_action: str = "search") -> UtilizationReport:
    """Per provider and location: open time in the period, booked time, and booked per 100 open minutes."""
    from mederi.scheduling.selectors import locations

    _require(context, "scheduling.read", "utilization report")
    filters = check_filters(date_from, date_to, location_id, practitioner_id)
    start, end = filters.bounds
    booked: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # appointments, minutes
    for group in facts.synced_count(start, end, by=("practitioner_id", "location_id"), statuses=OCCUPYING,
                                    location_id=filters.location_id, practitioner_id=filters.practitioner_id):
        booked[(group.practitioner_id, group.location_id)][0] += group.count
        booked[(group.practitioner_id, group.location_id)][1] += group.minutes
    opened = _open_minutes(filters)
    names = _names({p for p, _ in [*booked, *opened]})
    places = dict(locations())
    rows = []
    for practitioner_id, location_id in set(booked) | {pair for pair, minutes in opened.items() if minutes}:
        appointments, booked_minutes = booked.get((practitioner_id, location_id), (0, 0))
        open_minutes = opened.get((practitioner_id, location_id), 0)
        rows.append(UtilizationRow(
            practitioner_id, names.get(practitioner_id, practitioner_id) if practitioner_id else NO_PROVIDER,
            location_id, places.get(location_id, location_id) if location_id else NO_LOCATION,
            open_minutes, booked_minutes, appointments, percent(booked_minutes, open_minutes)))
    rows.sort(key=lambda r: (r.name.lower(), r.practitioner_id, r.location_name.lower(), r.location_id))
    open_total = sum(r.open_minutes for r in rows)
    booked_total = sum(r.booked_minutes for r in rows)
    total = UtilizationRow("", "All providers", "", "", open_total, booked_total, sum(r.appointments for r in rows),
                           percent(booked_total, open_total))
    _audit_counts(context, audit_action, "provider utilization", filters,
                  {"appointments": total.appointments, "providers": len({r.practitioner_id for r in rows})})
    return UtilizationReport(filters, rows, total)


# -- appointments by type and status ------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeRow:
    code: str
    name: str
    counts: list[int]  # one per status of the report, in its order
    total: int


@dataclass(frozen=True)
class AppointmentCounts:
    filters: Filters
    statuses: list[tuple[str, str]]  # (FHIR status, what the schedule calls it) that occur in the period
    rows: list[TypeRow]
    status_totals: list[int]
    total: int

    def count(self, type_code: str, status: str) -> int:
        codes = [code for code, _ in self.statuses]
        for row in self.rows:
            if row.code == type_code and status in codes:
                return row.counts[codes.index(status)]
        return 0


def appointments_by_type_and_status(context: Context, date_from: date, date_to: date, location_id: str | None = None,
                                    practitioner_id: str | None = None, *,
                                    audit_action: str = "search") -> AppointmentCounts:
    """How many appointments of each type had each status, for appointments starting in the period."""
    _require(context, "scheduling.read", "appointments report")
    filters = check_filters(date_from, date_to, location_id, practitioner_id)
    start, end = filters.bounds
    groups = facts.synced_count(start, end, by=("type_code", "status"), location_id=filters.location_id,
                                practitioner_id=filters.practitioner_id)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for group in groups:
        cells[(group.type_code, group.status)] += group.count
    present = {status for _, status in cells}
    statuses = [s for s in STATUS_ORDER if s in present] + sorted(present - set(STATUS_ORDER))
    type_names = dict(AppointmentType.objects.values_list("code", "name"))
    rows = []
    for code in {code for code, _ in cells}:
        counts = [cells.get((code, status), 0) for status in statuses]
        rows.append(TypeRow(code, type_names.get(code, code) if code else NO_TYPE, counts, sum(counts)))
    rows.sort(key=lambda r: (not r.code, r.name.lower(), r.code))
    report = AppointmentCounts(filters, [(s, records.STATUS_LABELS.get(s, s)) for s in statuses], rows,
                               [sum(r.counts[i] for r in rows) for i in range(len(statuses))],
                               sum(r.total for r in rows))
    _audit_counts(context, audit_action, "appointments by type and status", filters, {"appointments": report.total})
    return report


# -- eligibility failures ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureRow:
    """One eligibility check that found a problem: who, which payer, what went wrong, when."""

    checked_at: datetime | None
    service_date: date | None
    patient_id: str
    patient_name: str  # empty when the caller may not read demographics
    mrn: str
    payer_name: str
    result: str  # Not active, Rejected, Check failed
    reason: str  # in words, from the payer's answer or the reason no answer could be used
    coverage_id: str
    response_id: str

    @property
    def checked_text(self) -> str:
        if self.checked_at is None:
            return ""
        return practice_time.to_local(self.checked_at).strftime("%Y-%m-%d %H:%M")

    @property
    def patient_text(self) -> str:
        if not self.patient_name:
            return f"Patient {self.patient_id}"
        return f"{self.patient_name} ({self.mrn})" if self.mrn else self.patient_name


@dataclass(frozen=True)
class EligibilityFailures:
    filters: Filters
    rows: list[FailureRow]
    by_payer: list[tuple[str, int]]
    by_result: list[tuple[str, int]]
    names_shown: bool  # False when the caller may not read demographics: patients are shown by id

    @property
    def total(self) -> int:
        return len(self.rows)


def _mrn(patient: dict) -> str:
    mrn_system = systems.mrn_system()
    return next((i.get("value", "") for i in patient.get("identifier") or () if i.get("system") == mrn_system), "")


def _patients(context: Context, patient_ids: list[str]) -> dict[str, tuple[str, str]]:
    """{patient id: (name, MRN)} of the patients the caller may see (the repository applies their access)."""
    repository = Repository(context)
    found = {}
    for begin in range(0, len(patient_ids), 200):
        chunk = patient_ids[begin : begin + 200]
        result = repository.search("Patient", [("_id", ",".join(chunk)), ("_count", str(len(chunk))),
                                               ("_total", "none")])
        for stored in result.matches:
            patient = stored.as_dict()
            found[stored.logical_id] = (records.person_name(patient, stored.logical_id), _mrn(patient))
    return found


def _reason(summary) -> str:
    return " ".join(m.strip() for m in summary.messages if m.strip()) or summary.disposition or summary.label


def eligibility_failures(context: Context, date_from: date, date_to: date, location_id: str | None = None,
                         practitioner_id: str | None = None, *, audit_action: str = "search") -> EligibilityFailures:
    """Eligibility checks made in the period (practice days) that found a problem, oldest first.

    Checks are made per coverage, not per visit, so the location and provider filters are checked
    but do not narrow this report.
    """
    from mederi.billing import selectors as billing

    _require(context, "insurance.read", "eligibility failures")
    filters = check_filters(date_from, date_to, location_id, practitioner_id)
    summaries = billing.eligibility_failures(filters.date_from, filters.date_to, context=context)
    names_shown = context.is_system or "demographics.read" in context.permissions
    patient_ids = sorted({s.patient_id for s in summaries if s.patient_id})
    people = _patients(context, patient_ids) if names_shown and patient_ids else {}
    rows = []
    for summary in summaries:
        name, mrn = people.get(summary.patient_id, ("", ""))
        rows.append(FailureRow(summary.checked_at, summary.service_date, summary.patient_id, name, mrn,
                               summary.payer_name or summary.payer_id or "Unknown payer", summary.label,
                               _reason(summary), summary.coverage_id, summary.response_id))
    by_payer: dict[str, int] = defaultdict(int)
    by_result: dict[str, int] = defaultdict(int)
    for row in rows:
        by_payer[row.payer_name] += 1
        by_result[row.result] += 1
    report = EligibilityFailures(filters, rows, sorted(by_payer.items(), key=lambda p: (-p[1], p[0].lower())),
                                 sorted(by_result.items(), key=lambda p: (-p[1], p[0])), names_shown)
    shown_patients = sorted({r.patient_id for r in rows if r.patient_id})
    audit.record(context, audit_action, patient_id=shown_patients[0] if len(shown_patients) == 1 else None,
                 resource_type="CoverageEligibilityResponse",
                 resource_ids=[f"Patient/{p}" for p in shown_patients]
                 + [f"CoverageEligibilityResponse/{r.response_id}" for r in rows],
                 query=f"report: eligibility failures {filters.described()}",
                 detail={"failures": len(rows), "patients": len(shown_patients)})
    return report
