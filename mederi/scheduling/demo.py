"""The demo practice's scheduling: appointment types, the two doctors' hours, a holiday, the
clinics' rooms, and a day of appointments in every state (most in a room), written through the
services like any booking.

`load_demo(today)` needs the directory and patients of `mederi.demo` (Practitioner demo-dr-ruiz
and demo-dr-okafor, Location demo-clinic-main and demo-clinic-north, Patient demo-pat-1..6). It
is safe to run again: templates are matched before they are added, and appointments have ids
made of the demo day, so a second run on the same day adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository
from mederi.scheduling import directory, services
from mederi.scheduling.models import AppointmentType, Break, Holiday, WaitlistEntry, WeeklyHours

RUIZ, OKAFOR = "demo-dr-ruiz", "demo-dr-okafor"
MAIN, NORTH = "demo-clinic-main", "demo-clinic-north"
TYPES = (  # code, name, minutes, colour
    ("new", "New patient", 40, "purple"),
    ("follow-up", "Follow-up", 20, "blue"),
    ("physical", "Annual physical", 30, "green"),
    ("sick", "Sick visit", 15, "orange"),
    ("procedure", "Procedure", 30, "red"),
    ("video", "Video visit", 20, "teal"),
)
# Ruiz: main clinic Monday to Friday 8-17 with a lunch break; Okafor: main clinic every morning and
# Monday, Wednesday, Friday afternoons, the north clinic Tuesday and Thursday afternoons.
HOURS = (
    *((RUIZ, MAIN, day, time(8), time(17)) for day in range(5)),
    *((OKAFOR, MAIN, day, time(8), time(12)) for day in range(5)),
    *((OKAFOR, MAIN, day, time(13), time(17)) for day in (0, 2, 4)),
    *((OKAFOR, NORTH, day, time(13), time(17)) for day in (1, 3)),
)
BREAKS = tuple((RUIZ, MAIN, day, time(12), time(13)) for day in range(5))
ROOMS = {MAIN: ("Exam 1", "Exam 2", "Exam 3", "Procedure room"), NORTH: ("Exam 1", "Exam 2")}
# The room a visit is booked in: the doctor's usual exam room, procedures in the procedure room.
USUAL_ROOM = {(RUIZ, MAIN): "Exam 1", (OKAFOR, MAIN): "Exam 2", (OKAFOR, NORTH): "Exam 1"}
# (day offset, hh, mm, patient, practitioner, type, what happens)
VISITS = (
    (0, 8, 30, "demo-pat-5", RUIZ, "follow-up", "no-show"),
    (0, 9, 0, "demo-pat-1", RUIZ, "follow-up", "check-out"),
    (0, 9, 30, "demo-pat-2", RUIZ, "sick", "room"),
    (0, 10, 0, "demo-pat-3", RUIZ, "physical", "check-in"),
    (0, 10, 40, "demo-pat-4", OKAFOR, "new", "arrive"),
    (0, 11, 20, "demo-pat-5", OKAFOR, "follow-up", None),
    (0, 14, 0, "demo-pat-6", RUIZ, "follow-up", None),
    (0, 15, 0, "demo-pat-1", RUIZ, "sick", "cancel"),
    (1, 9, 0, "demo-pat-2", RUIZ, "follow-up", None),
    (1, 9, 20, "demo-pat-1", OKAFOR, "video", None),
    (1, 11, 0, "demo-pat-4", RUIZ, "physical", None),
    (2, 8, 0, "demo-pat-5", OKAFOR, "new", None),
    (2, 13, 30, "demo-pat-6", RUIZ, "procedure", None),
    (3, 10, 0, "demo-pat-1", RUIZ, "physical", None),
)


def _working_day(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _templates(context: Context, today: date) -> None:
    for code, name, minutes, colour in TYPES:
        if not AppointmentType.objects.filter(code=code).exists():
            services.save_appointment_type(context, code, name, minutes, colour)
    for practitioner, location, weekday, start, end in HOURS:
        if not WeeklyHours.objects.filter(practitioner_id=practitioner, location_id=location, weekday=weekday,
                                          start=start).exists():
            services.add_weekly_hours(context, practitioner, location, weekday, start, end)
    for practitioner, location, weekday, start, end in BREAKS:
        if not Break.objects.filter(practitioner_id=practitioner, location_id=location, weekday=weekday,
                                    start=start).exists():
            services.add_break(context, practitioner, location, weekday, start, end, label="Lunch")
    services.set_overbook_limit(context, RUIZ, 2)
    training = _working_day(today + timedelta(days=21))
    if not Holiday.objects.filter(date=training).exists():
        services.add_holiday(context, training, "Staff training day")


def _rooms(context: Context) -> dict[tuple[str, str], str]:
    """The demo clinics' rooms, added where missing: {(location, room name): room id}."""
    found = {}
    for location_id, names in ROOMS.items():
        existing = {room.name: room.id for room in directory.rooms_of(location_id, context=context)}
        for name in names:
            found[(location_id, name)] = existing.get(name) or directory.add_room(context, location_id, name)
    return found


def _room_for(rooms: dict, practitioner: str, location_id: str, type_code: str) -> str:
    name = "Procedure room" if type_code == "procedure" else USUAL_ROOM.get((practitioner, location_id), "")
    return rooms.get((location_id, name), "")


def _location_of(practitioner: str, day: date, hour: int) -> str:
    if practitioner == OKAFOR and hour >= 13 and day.weekday() in (1, 3):
        return NORTH
    return MAIN


def _visits(context: Context, first: date, rooms: dict) -> int:
    repo = Repository(context)
    booked = 0
    for offset, hh, mm, patient, practitioner, type_code, step in VISITS:
        day = _working_day(first + timedelta(days=offset))
        appointment_id = f"demo-appt-{first:%Y%m%d}-{offset}-{hh:02d}{mm:02d}-{practitioner[8:]}"
        try:
            repo.read("Appointment", appointment_id)
            continue  # loaded before
        except MederiError:
            pass
        location_id = _location_of(practitioner, day, hh)
        room_id = _room_for(rooms, practitioner, location_id, type_code) if type_code != "video" else ""
        try:
            services.book_appointment(context, patient, practitioner, location_id,
                                      datetime.combine(day, time(hh, mm)), type_code, allow_past=True,
                                      appointment_id=appointment_id, room_id=room_id)
        except MederiError:  # the time is taken by an earlier run's series, say: leave it
            continue
        booked += 1
        steps = {"check-out": ["check-in", "room", "check-out"], "room": ["arrive", "check-in", "room"],
                 "check-in": ["arrive", "check-in"], "arrive": ["arrive"], "no-show": ["no-show"]}.get(step, [])
        for action in steps:
            services.change_stage(context, appointment_id, action)
        if step == "cancel":
            services.cancel_appointment(context, appointment_id, "pat-lt", "No ride to the clinic today")
    return booked


def _series(context: Context, first: date, rooms: dict) -> int:
    series_id = f"demo-series-{first:%Y%m%d}"
    found = Repository(context).search("Appointment", [("identifier", f"{systems.APPOINTMENT_SERIES}|{series_id}")])
    if found.matches:
        return 0
    start = datetime.combine(_working_day(first + timedelta(days=2)), time(16, 0))
    try:
        return len(services.book_recurring(context, "demo-pat-3", RUIZ, MAIN, start, "follow-up", count=4,
                                           comment="Weekly blood pressure check", allow_past=True,
                                           series_id=series_id, room_id=rooms.get((MAIN, "Exam 3"), "")))
    except MederiError:
        return 0


def load_demo(today: date) -> str:
    """Load (or top up) the demo schedule around `today`; returns a one-line summary."""
    context = Context.system("demo")
    _templates(context, today)
    first = _working_day(today)
    if not WaitlistEntry.objects.filter(patient_id="demo-pat-4").exists():
        # Waiting before the visits are loaded: the cancellation among them is offered to this patient.
        services.add_to_waitlist(context, "demo-pat-4", "sick", earliest=today, latest=today + timedelta(days=14),
                                 practitioner_id=RUIZ, note="Would like an earlier visit for the cough")
    rooms = _rooms(context)
    booked = _visits(context, first, rooms) + _series(context, first, rooms)
    return (f"demo schedule ready: {len(TYPES)} appointment types, hours for 2 doctors at 2 clinics with "
            f"{len(rooms)} rooms, {booked} new appointments from {first.isoformat()}")
