"""Scheduling reads for the pages: calendars, an appointment, a patient's appointments, the waitlist.

Appointments are found through the record's search index (occupancy.py) or the repository;
what each caller may see is filtered with the record's own access rules, and every read that
shows patients' appointments is written to the audit log with the ids shown.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import date, timedelta

from mederi.audit import services as audit
from mederi.core.context import Context
from mederi.core.errors import Gone, NotFound
from mederi.fhir import access, jsonio
from mederi.fhir.repository import Repository
from mederi.scheduling import bookable, occupancy, practice_time, records
from mederi.scheduling.availability import Templates, _require_read
from mederi.scheduling.calendar import Block, Column, appointment_url_prefix
from mederi.scheduling.errors import BookingError
from mederi.scheduling.models import AppointmentType, ScheduleException, WaitlistEntry, WeeklyHours

HIDDEN_STATUSES = occupancy.WITHDRAWN  # left out of the grid (listed on their own page)


# -- the directory --------------------------------------------------------------------------------


def locations() -> list[tuple[str, str]]:
    """(id, name) of the practice's locations, by name."""
    from mederi.accounts.selectors import locations as directory_locations

    return directory_locations()


def bookable_locations() -> list[tuple[str, str]]:
    """(id, name) of the locations that take bookings: the active ones, by name."""
    places = locations()
    contents = occupancy.current_contents("Location", [key for key, _ in places])
    return [(key, name) for key, name in places if key in contents and bookable.is_active(jsonio.loads(contents[key]))]


def rooms_by_location() -> list[tuple[str, list[tuple[str, str]]]]:
    """The active rooms of each bookable location, as grouped choices: [(location name, [(id, room)])]."""
    from mederi.scheduling import directory

    grouped = []
    for location_id, name in bookable_locations():
        rooms = [(room.id, room.name) for room in directory.rooms_of(location_id) if room.active]
        if rooms:
            grouped.append((name, rooms))
    return grouped


def practitioner_names(ids) -> dict[str, str]:
    contents = occupancy.current_contents("Practitioner", ids)
    return {pid: records.person_name(jsonio.loads(content), pid) for pid, content in contents.items()}


def practitioners(location_id: str | None = None) -> list[tuple[str, str]]:
    """(id, name) of the active providers who have hours (at the location, if given), by name."""
    rows = WeeklyHours.objects.all()
    if location_id:
        rows = rows.filter(location_id=location_id)
    ids = set(rows.values_list("practitioner_id", flat=True).distinct())
    found = []
    for pid, content in occupancy.current_contents("Practitioner", ids).items():
        resource = jsonio.loads(content)
        if bookable.is_active(resource):
            found.append((pid, records.person_name(resource, pid)))
    return sorted(found, key=lambda pair: (pair[1].lower(), pair[0]))


def directory_practitioners() -> list[tuple[str, str]]:
    """Every active Practitioner in the record, for the templates page."""
    from mederi.fhir.models import Resource

    found = []
    for logical_id, content in Resource.objects.filter(resource_type="Practitioner", deleted=False).values_list(
            "logical_id", "content")[:2000]:
        resource = jsonio.loads(content)
        if resource.get("active", True):
            found.append((logical_id, records.person_name(resource, logical_id)))
    return sorted(found, key=lambda pair: (pair[1].lower(), pair[0]))


def appointment_types(include_inactive: bool = False) -> list[AppointmentType]:
    rows = AppointmentType.objects.all()
    return list(rows if include_inactive else rows.filter(active=True))


# -- patients and their access ----------------------------------------------------------------------


def _patient_names(context: Context, patient_ids) -> dict[str, str]:
    if not context.is_system and "demographics.read" not in context.permissions:
        return {}
    names = occupancy.patient_names(patient_ids)
    return {pid: records.person_name({"resourceType": "Patient", "name": name}, pid) for pid, name in names.items()}


def _visible(context: Context, views: list[records.AppointmentView]) -> set[int]:
    """Primary keys of the appointments the caller may see (the record's own rules for Appointment)."""
    pks = [v.pk for v in views if v.pk is not None]
    condition = access.visibility(context, "Appointment", "r", "search")
    if condition is None or not pks:  # nothing hidden from this caller: no query at all
        return set(pks)
    sql, values = condition
    found: set[int] = set()
    for chunk in [pks[begin : begin + 2000] for begin in range(0, len(pks), 2000)]:
        chosen, chosen_params = occupancy.one_of("r.id", chunk)
        with occupancy.quick_cursor() as cursor:
            cursor.execute(f"SELECT r.id FROM fhir_resource r WHERE {chosen} AND ({sql})", [*chosen_params, *values])
            found.update(row[0] for row in cursor.fetchall())
    return found


def _audit_shown(context: Context, views, query: str) -> None:
    if not views:
        return
    patients = {v.patient_id for v in views if v.patient_id}
    ids = [f"Appointment/{v.id}" for v in views] + [f"Patient/{p}" for p in sorted(patients)]
    audit.record(context, "search", patient_id=next(iter(patients)) if len(patients) == 1 else None,
                 resource_type="Appointment", resource_ids=ids, query=query, detail={"total": len(views)})


def _eligibility(context: Context, patient_ids) -> dict[str, tuple[str, str]]:
    """{patient id: (status, words)} from billing's latest eligibility checks, when billing has them."""
    try:
        from mederi.billing.selectors import latest_eligibility
    except ImportError:
        return {}
    coverages = occupancy.coverages_of(patient_ids)
    wanted = [c for ids in coverages.values() for c in ids]
    if not wanted:
        return {}
    if "context" in inspect.signature(latest_eligibility).parameters:
        summaries = latest_eligibility(wanted, context=context)
    else:
        summaries = latest_eligibility(wanted)
    found = {}
    for patient_id, coverage_ids in coverages.items():
        for coverage_id in coverage_ids:
            summary = summaries.get(coverage_id)
            if summary is None:
                continue
            status = getattr(summary, "status", "") or (
                "active" if getattr(summary, "active", None) else "inactive")
            plan = getattr(summary, "plan_name", "") or getattr(summary, "payer_name", "")
            checked = getattr(summary, "checked_at", None)
            words = {"active": "Insurance active", "inactive": "Insurance not active",
                     "rejected": "Eligibility check rejected", "failed": "Eligibility check failed"}.get(
                status, "Eligibility unknown")
            if plan:
                words += f" ({plan})"
            if checked:
                words += f", checked {practice_time.to_local(checked):%d %b %H:%M}"
            found[patient_id] = (status, words)
            break
    return found


def _blocks(context: Context, rows, *, colours: dict[str, str]) -> list[Block]:
    views = [records.view_of(content, pk=pk) for pk, content in rows]
    visible = _visible(context, views)
    patient_ids = {v.patient_id for v in views if v.pk in visible and v.patient_id}
    names = _patient_names(context, patient_ids)
    rooms = bookable.names(v.room_id for v in views if v.room_id)
    eligibility = _eligibility(context, {v.patient_id for v in views
                                         if v.pk in visible and v.status in records.OCCUPYING})
    blocks = []
    prefix = appointment_url_prefix()
    for view in views:
        shown = view.pk in visible
        status, words = eligibility.get(view.patient_id, ("", "")) if shown else ("", "")
        blocks.append(Block(view, names.get(view.patient_id, "Patient") if shown else "Busy (restricted record)",
                            shown, colours.get(view.type_code, "grey"), status, words, prefix,
                            rooms.get(view.room_id, view.room_id or "")))
    return blocks


# -- calendars ------------------------------------------------------------------------------------------


@dataclass
class Calendar:
    title: str
    days: list[date]
    columns: list[Column]
    location_id: str | None = None
    practitioner_id: str | None = None

    @property
    def day(self) -> date:
        return self.days[0]


def _notes(templates: Templates, practitioner_id: str, location_id: str | None, day: date) -> list[str]:
    notes = []
    if location_id and templates.is_holiday(day, location_id):
        notes += [f"Holiday: {name}" for name in templates.holiday_names(day, location_id)]
    first, last = practice_time.day_bounds(day)
    for row in templates.exceptions.get(practitioner_id, ()):
        if row.start < last and first < row.end and (not location_id or row.location_id in ("", location_id)):
            kind = "Away" if row.kind == ScheduleException.CLOSED else "Extra hours"
            span = f"{practice_time.clock_text(max(row.start, first))}–{practice_time.clock_text(min(row.end, last))}"
            notes.append(f"{kind} {span}" + (f": {row.reason}" if row.reason else ""))
    return notes


def _colours() -> dict[str, str]:
    return dict(AppointmentType.objects.values_list("code", "colour"))


def _split(blocks: list[Block]) -> tuple[list[Block], list[Block]]:
    """(blocks drawn in the grid, cancelled and the like listed below it)."""
    shown, hidden = [], []
    for block in blocks:
        view = block.view
        (shown if view.status not in HIDDEN_STATUSES and view.start and view.end else hidden).append(block)
    return shown, hidden


def day_calendar(context: Context, location_id: str, day: date) -> Calendar:
    """One column per provider working at (or booked at) the location on the day."""
    _require_read(context)
    first, last = practice_time.day_bounds(day)
    with occupancy.quick_reads():
        templates = Templates(None, location_id, day, day)
        rows = occupancy.appointment_rows(first, last, location_id=location_id)
        blocks = [b for b in _blocks(context, rows, colours=_colours()) if b.view.end is None or b.view.end > first]
    shown, _ = _split(blocks)
    by_practitioner: dict[str, list[Block]] = {}
    for block in shown:
        by_practitioner.setdefault(block.view.practitioner_id or "", []).append(block)
    working = {p for p, loc in templates.pairs() if templates.open_intervals(p, loc, day)}
    ids = sorted((working | set(by_practitioner)) - {""})
    names = practitioner_names(ids)
    columns = []
    for pid in sorted(ids, key=lambda p: (names.get(p, p).lower(), p)):
        columns.append(Column(
            key=pid, title=names.get(pid, pid), day=day, practitioner_id=pid, location_id=location_id,
            link=_provider_link(pid, day), open_intervals=templates.open_intervals(pid, location_id, day),
            book_label=f"Book with {names.get(pid, pid)}",
            blocks=by_practitioner.get(pid, []), notes=_notes(templates, pid, location_id, day)))
    if "" in by_practitioner:  # booked at the location with no practitioner (an outside client's)
        columns.append(Column(key="none", title="No provider", day=day, location_id=location_id,
                              blocks=by_practitioner[""]))
    _audit_shown(context, [b.view for b in blocks if b.visible],
                 f"ui: day calendar location={location_id} date={day.isoformat()}")
    name = dict(locations()).get(location_id, location_id)
    return Calendar(f"{name} · {practice_time.day_text(day)}", [day], columns, location_id=location_id)


def _provider_link(practitioner_id: str, day: date) -> str:
    from django.urls import reverse

    return f"{reverse('scheduling:provider-day', args=[practitioner_id])}?date={day.isoformat()}"


def week_of(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def provider_calendar(context: Context, practitioner_id: str, days: list[date]) -> Calendar:
    """One column per day (one day, or a week) for a provider, at every location."""
    _require_read(context)
    first, last = practice_time.day_bounds(days[0])[0], practice_time.day_bounds(days[-1])[1]
    with occupancy.quick_reads():
        templates = Templates([practitioner_id], None, days[0], days[-1])
        rows = occupancy.appointment_rows(first, last, practitioner_ids=[practitioner_id])
        blocks = _blocks(context, rows, colours=_colours())
    shown, _ = _split(blocks)
    location_names = dict(locations())
    columns = []
    for day in days:
        stretches, places = [], []
        for pid, location_id in templates.pairs():
            for interval in templates.open_intervals(pid, location_id, day):
                stretches.append((interval, location_id))
                places.append(location_names.get(location_id, location_id))
        day_blocks = [b for b in shown if practice_time.local_day(b.view.start) == day]
        if len(days) > 1 and day.weekday() >= 5 and not stretches and not day_blocks:
            continue  # an empty weekend day
        columns.append(Column(
            key=day.isoformat(), title=practice_time.day_text(day), day=day, practitioner_id=practitioner_id,
            location_id=stretches[0][1] if stretches else None, link=_provider_link(practitioner_id, day),
            open_intervals=[interval for interval, _ in stretches], open_locations=stretches, blocks=day_blocks,
            where=("At " + ", ".join(dict.fromkeys(places))) if places else "",
            book_label=f"Book on {practice_time.day_text(day)}",
            notes=_notes(templates, practitioner_id, None, day)))
    _audit_shown(context, [b.view for b in blocks if b.visible],
                 f"ui: provider calendar practitioner={practitioner_id} from={days[0]} to={days[-1]}")
    name = practitioner_names([practitioner_id]).get(practitioner_id, practitioner_id)
    span = practice_time.day_text(days[0]) if len(days) == 1 else (
        f"week of {practice_time.day_text(days[0])}")
    return Calendar(f"{name} · {span}", days, columns, practitioner_id=practitioner_id)


@dataclass
class WeekRow:
    practitioner_id: str
    name: str
    cells: list[list[Block]]
    open_minutes: list[int]


def location_week(context: Context, location_id: str, day: date) -> tuple[list[date], list[WeekRow]]:
    """A location's week: a row per provider, a cell per day listing that day's appointments."""
    _require_read(context)
    days = week_of(day)
    first, last = practice_time.day_bounds(days[0])[0], practice_time.day_bounds(days[-1])[1]
    with occupancy.quick_reads():
        templates = Templates(None, location_id, days[0], days[-1])
        rows = occupancy.appointment_rows(first, last, location_id=location_id)
        blocks = _blocks(context, rows, colours=_colours())
    shown, _ = _split(blocks)
    ids = sorted({p for p, _ in templates.pairs()} | {b.view.practitioner_id for b in shown if b.view.practitioner_id})
    names = practitioner_names(ids)
    week_rows = []
    for pid in sorted(ids, key=lambda p: (names.get(p, p).lower(), p)):
        cells, minutes = [], []
        for d in days:
            cells.append([b for b in shown if b.view.practitioner_id == pid and practice_time.local_day(b.view.start) == d])
            minutes.append(int(sum((i.end - i.start).total_seconds() for i in templates.open_intervals(pid, location_id, d))
                               // 60))
        week_rows.append(WeekRow(pid, names.get(pid, pid), cells, minutes))
    _audit_shown(context, [b.view for b in blocks if b.visible],
                 f"ui: week calendar location={location_id} week={days[0].isoformat()}")
    return days, week_rows


def withdrawn(context: Context, day: date, *, location_id: str | None = None,
              practitioner_id: str | None = None) -> list[Block]:
    """The day's cancelled (and entered-in-error) appointments at a location or of a provider."""
    _require_read(context)
    first, last = practice_time.day_bounds(day)
    with occupancy.quick_reads():
        rows = occupancy.appointment_rows(first, last, location_id=location_id,
                                          practitioner_ids=[practitioner_id] if practitioner_id else None,
                                          withdrawn=True)
        blocks = [b for b in _blocks(context, rows, colours=_colours()) if b.view.start and b.view.start >= first]
    _audit_shown(context, [b.view for b in blocks if b.visible],
                 f"ui: cancelled appointments date={day.isoformat()} location={location_id or ''} "
                 f"practitioner={practitioner_id or ''}")
    return blocks


# -- one appointment, a patient's appointments -----------------------------------------------------


@dataclass
class AppointmentDetail:
    view: records.AppointmentView
    patient_name: str
    practitioner_name: str
    location_name: str
    room_name: str
    type_colour: str
    actions: list[str]
    can_cancel: bool
    can_reschedule: bool
    series_count: int = 0
    coverage_ids: list[str] = field(default_factory=list)  # the patient's active coverages, for eligibility


def appointment_detail(context: Context, appointment_id: str) -> AppointmentDetail:
    from mederi.scheduling.services import STAGE_ACTIONS

    repo = Repository(context)
    try:
        stored = repo.read("Appointment", appointment_id)
    except (NotFound, Gone):
        raise BookingError.at(None, f"There is no appointment '{appointment_id}'.", status=404) from None
    view = records.view_of(stored.as_dict(), pk=stored.pk)
    audit.record(context, "read", patient_id=view.patient_id, resource_type="Appointment",
                 resource_ids=[stored.reference], query=f"ui: appointment {appointment_id}")
    actions = [a for a, (allowed, _, _) in STAGE_ACTIONS.items()
               if view.status in allowed and not (a == "room" and view.stage == "in-room")]
    series_count = 0
    if view.series_id:
        from mederi.core import systems

        series_count = repo.search("Appointment", [
            ("identifier", f"{systems.APPOINTMENT_SERIES}|{view.series_id}"), ("_summary", "count")]).total or 0
    return AppointmentDetail(
        view=view,
        patient_name=_patient_names(context, [view.patient_id]).get(view.patient_id, view.patient_id or ""),
        practitioner_name=practitioner_names([view.practitioner_id]).get(view.practitioner_id, view.practitioner_id or ""),
        location_name=dict(locations()).get(view.location_id, view.location_id or ""),
        room_name=bookable.names([view.room_id]).get(view.room_id, view.room_id) if view.room_id else "",
        type_colour=_colours().get(view.type_code, "grey"), actions=actions,
        can_cancel=view.status in ("proposed", "pending", "booked", "arrived", "waitlist"),
        can_reschedule=view.status in ("booked", "pending"), series_count=series_count,
        coverage_ids=occupancy.coverages_of([view.patient_id]).get(view.patient_id, []) if view.patient_id else [])


@dataclass
class PatientAppointment:
    view: records.AppointmentView
    practitioner_name: str
    location_name: str


def appointments_for_patient(context: Context, patient_id: str, *, limit: int = 50) -> list[PatientAppointment]:
    """A patient's appointments, the latest first (upcoming ones on top); audited."""
    repo = Repository(context)
    found = repo.search("Appointment", [("patient", f"Patient/{patient_id}"), ("_sort", "-date"),
                                        ("_count", str(limit))])
    views = [records.view_of(stored.content, pk=stored.pk) for stored in found.matches]
    audit.record(context, "search", patient_id=patient_id, resource_type="Appointment",
                 resource_ids=[f"Appointment/{v.id}" for v in views], query=f"ui: appointments of patient {patient_id}",
                 detail={"total": found.total} if found.total else None)
    names = practitioner_names({v.practitioner_id for v in views if v.practitioner_id})
    places = dict(locations())
    return [PatientAppointment(v, names.get(v.practitioner_id, v.practitioner_id or ""),
                               places.get(v.location_id, v.location_id or "")) for v in views]


# -- the waitlist ---------------------------------------------------------------------------------------


@dataclass
class WaitlistRow:
    entry: WaitlistEntry
    patient_name: str
    type_name: str
    practitioner_name: str
    location_name: str
    offer: records.AppointmentView | None = None

    @property
    def weekday_names(self) -> str:
        names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        return ", ".join(names[d] for d in sorted(self.entry.weekday_set())) or "Any day"


def waitlist(context: Context) -> list[WaitlistRow]:
    """Patients waiting or holding an offer, oldest first; audited."""
    _require_read(context)
    entries = list(WaitlistEntry.objects.filter(status__in=[WaitlistEntry.WAITING, WaitlistEntry.OFFERED]))
    names = _patient_names(context, {e.patient_id for e in entries})
    providers = practitioner_names({e.practitioner_id for e in entries if e.practitioner_id})
    places = dict(locations())
    types = {t.code: t.name for t in AppointmentType.objects.all()}
    offers = {}
    offered_ids = [e.offered_appointment_id for e in entries if e.offered_appointment_id]
    for logical_id, content in occupancy.current_contents("Appointment", offered_ids).items():
        offers[logical_id] = records.view_of(content)
    rows = [WaitlistRow(e, names.get(e.patient_id, e.patient_id), types.get(e.type_code, e.type_code),
                        providers.get(e.practitioner_id, "Any provider") if e.practitioner_id else "Any provider",
                        places.get(e.location_id, e.location_id) if e.location_id else "Any location",
                        offers.get(e.offered_appointment_id)) for e in entries]
    if entries:
        audit.record(context, "search", patient_id=entries[0].patient_id if len({e.patient_id for e in entries}) == 1
                     else None, resource_type="Patient",
                     resource_ids=[f"Patient/{p}" for p in sorted({e.patient_id for e in entries})]
                     + [f"Appointment/{a}" for a in offered_ids], query="ui: waitlist")
    return rows
