"""Operational tables of scheduling: the practice's appointment types, the availability
templates providers work by, overbooking rules, the waitlist, and the lock rows that serialise
bookings.

Appointments and Schedules themselves are FHIR resources in the record (see services.py). The
templates here are local wall-clock times of the practice's time zone (`practice_time.py`);
exceptions are instants, stored in UTC like every DateTimeField.
"""

from django.db import models
from django.db.models import F, Q

# Colours an appointment type may have: each is a CSS class in static/scheduling/scheduling.css,
# chosen to stay readable with dark text and distinguishable from one another.
PALETTE = (
    ("blue", "Blue"),
    ("green", "Green"),
    ("orange", "Orange"),
    ("purple", "Purple"),
    ("teal", "Teal"),
    ("red", "Red"),
    ("yellow", "Yellow"),
    ("grey", "Grey"),
)
WEEKDAYS = (
    (0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"), (6, "Sunday"),
)


class AppointmentType(models.Model):
    code = models.SlugField(max_length=32, unique=True)  # Appointment.appointmentType code
    name = models.CharField(max_length=100)
    minutes = models.PositiveSmallIntegerField()
    colour = models.CharField(max_length=16, choices=PALETTE, default="blue")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(minutes__gte=5) & Q(minutes__lte=480),
                                              name="scheduling_type_minutes")]

    def __str__(self) -> str:
        return f"{self.name} ({self.minutes} min)"


class _WeeklyPattern(models.Model):
    """A stretch of a weekday, repeated every week while it is valid (dates inclusive)."""

    practitioner_id = models.CharField(max_length=64)
    location_id = models.CharField(max_length=64)
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    start = models.TimeField()
    end = models.TimeField()
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        abstract = True

    def applies_on(self, day) -> bool:
        return (day.weekday() == self.weekday and (self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))


class WeeklyHours(_WeeklyPattern):
    class Meta:
        ordering = ["practitioner_id", "location_id", "weekday", "start"]
        indexes = [models.Index(fields=["practitioner_id", "location_id", "weekday"], name="sched_hours_lookup"),
                   models.Index(fields=["location_id", "weekday"], name="sched_hours_location")]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="sched_hours_end_after_start")]


class Break(_WeeklyPattern):
    label = models.CharField(max_length=60, blank=True, default="Break")

    class Meta:
        ordering = ["practitioner_id", "location_id", "weekday", "start"]
        indexes = [models.Index(fields=["practitioner_id", "location_id", "weekday"], name="sched_break_lookup")]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="sched_break_end_after_start")]


class ScheduleException(models.Model):
    """A one-off change to a provider's hours: closed (away) or extra hours."""

    CLOSED = "closed"
    EXTRA_HOURS = "extra_hours"
    KINDS = ((CLOSED, "Closed"), (EXTRA_HOURS, "Extra hours"))

    practitioner_id = models.CharField(max_length=64)
    location_id = models.CharField(max_length=64, blank=True, default="")  # blank: every location (closed only)
    start = models.DateTimeField()
    end = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=KINDS)
    reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["practitioner_id", "start"], name="sched_exception_lookup")]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="sched_exception_end_after_start")]


class Holiday(models.Model):
    """A day the practice (or one location) is closed; extra-hours exceptions still apply."""

    date = models.DateField()
    name = models.CharField(max_length=100)
    location_id = models.CharField(max_length=64, blank=True, default="")  # blank: every location

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["date", "location_id"], name="sched_holiday_unique")]


class OverbookRule(models.Model):
    """How many appointments of one provider may overlap when a person books with overbooking on."""

    practitioner_id = models.CharField(max_length=64, unique=True)
    max_overlapping = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(max_overlapping__gte=1), name="sched_overbook_at_least_one")]


class BookingLock(models.Model):
    """One row per provider and local day. A booking locks the rows of the days it touches
    (SELECT ... FOR UPDATE on PostgreSQL) before it checks for conflicts and writes, so two
    bookings for the same provider and day run one after the other."""

    practitioner_id = models.CharField(max_length=64)
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practitioner_id", "day"], name="sched_lock_unique")]


class WaitlistEntry(models.Model):
    """A patient who wants an earlier appointment; offered the first matching freed slot."""

    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    REMOVED = "removed"
    STATUSES = ((WAITING, "Waiting"), (OFFERED, "Offered a slot"), (BOOKED, "Booked"), (REMOVED, "Removed"))
    ANY_TIME, MORNING, AFTERNOON = "", "morning", "afternoon"
    TIMES_OF_DAY = ((ANY_TIME, "Any time"), (MORNING, "Mornings"), (AFTERNOON, "Afternoons"))

    patient_id = models.CharField(max_length=64)
    type_code = models.CharField(max_length=32)
    practitioner_id = models.CharField(max_length=64, blank=True, default="")  # blank: any provider
    location_id = models.CharField(max_length=64, blank=True, default="")  # blank: any location
    earliest = models.DateField()
    latest = models.DateField()
    time_of_day = models.CharField(max_length=16, choices=TIMES_OF_DAY, blank=True, default=ANY_TIME)
    weekdays = models.CharField(max_length=20, blank=True, default="")  # "0,2,4"; blank: any weekday
    note = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default=WAITING)
    created = models.DateTimeField()
    created_by = models.CharField(max_length=150, blank=True, default="")
    offered_appointment_id = models.CharField(max_length=64, blank=True, default="")  # the proposed Appointment
    offered_at = models.DateTimeField(null=True, blank=True)
    booked_appointment_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["status", "created"], name="sched_waitlist_status")]
        constraints = [models.CheckConstraint(condition=Q(latest__gte=F("earliest")),
                                              name="sched_waitlist_latest_after_earliest")]

    def weekday_set(self) -> set[int]:
        return {int(d) for d in self.weekdays.split(",") if d.strip().isdigit()}


class BusyTime(models.Model):
    """When each provider is taken, copied from the record's occupying Appointments so that
    "next available" can skip full days without visiting every appointment of every provider.

    Only an accelerator: what a search finds here is checked against the record's own index for
    the days it offers (availability.py), and bookings check the record itself, so a row missing
    or left over here (an Appointment written by an outside FHIR client, say) costs speed, never
    a wrong booking. The scheduling services keep it up to date in the transaction of every
    change they make; `projection.rebuild` (hourly, see tasks.py) copies what others wrote.
    """

    appointment_id = models.CharField(max_length=64)
    practitioner_id = models.CharField(max_length=64)
    # UTC seconds since 1970: a long search reads tens of thousands of these, and turning
    # database timestamps into datetimes cost more than the query itself.
    start_second = models.BigIntegerField()
    end_second = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appointment_id", "practitioner_id"],
                                               name="sched_busy_unique")]
        indexes = [models.Index(fields=["practitioner_id", "start_second"], name="sched_busy_lookup")]
