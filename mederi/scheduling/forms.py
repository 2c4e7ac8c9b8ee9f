"""Forms of the scheduling pages: they read and check what was typed; services apply the rules.

A rule broken in a service comes back as a `BookingError` whose issue names the field it is
about; `add_service_error` puts its message next to that field, so every refusal is shown where
the person can fix it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms

from mederi.core.errors import MederiError
from mederi.scheduling import practice_time, records
from mederi.scheduling.models import PALETTE, WEEKDAYS, ScheduleException, WaitlistEntry

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time", "step": "300"}, format="%H:%M")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "300"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
DATE_ERRORS = {"invalid": "Enter a real date, like 2026-03-02.", "required": "Give a date."}
TIME_ERRORS = {"invalid": "Enter a time of day, like 10:30.", "required": "Give a time."}


def add_service_error(form: forms.Form, error: MederiError) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    for issue in error.issues:
        field = issue.expression if issue.expression in form.fields else None
        if field == "time" or (issue.expression == "start" and "start" not in form.fields and "time" in form.fields):
            field = "time"
        form.add_error(field, issue.diagnostics)


def _choices(pairs, blank: str | None = None):
    found = list(pairs)
    return ([("", blank)] if blank is not None else []) + found


class BookingForm(forms.Form):
    patient_id = forms.CharField(label="Patient", max_length=64,
                                 error_messages={"required": "Choose the patient: search by name, date of birth or MRN."})
    practitioner_id = forms.ChoiceField(label="Provider", error_messages={"required": "Choose a provider."})
    location_id = forms.ChoiceField(label="Location", error_messages={"required": "Choose a location."})
    room_id = forms.ChoiceField(label="Room (optional)", required=False,
                                help_text="One of the chosen location's rooms; a room holds one appointment at a time.")
    type_code = forms.ChoiceField(label="Appointment type", error_messages={"required": "Choose a type."})
    date = forms.DateField(label="Date", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    time = forms.TimeField(label="Time", widget=TIME_INPUT, error_messages=TIME_ERRORS)
    comment = forms.CharField(label="Note for the visit", required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 2}))
    overbook = forms.BooleanField(label="Overbook: book even if the time is taken (within the provider's limit)",
                                  required=False)
    repeat = forms.ChoiceField(label="Repeat", required=False, choices=(("", "Does not repeat"),
                                                                        ("weekly", "Every week or every few weeks")))
    every_weeks = forms.IntegerField(label="Every how many weeks", required=False, min_value=1, max_value=52)
    count = forms.IntegerField(label="Number of appointments", required=False, min_value=2, max_value=104)
    until = forms.DateField(label="Or until", required=False, widget=DATE_INPUT, error_messages=DATE_ERRORS)

    def __init__(self, *args, practitioners=(), locations=(), types=(), rooms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner_id"].choices = _choices(practitioners, "Choose a provider")
        self.fields["location_id"].choices = _choices(locations, "Choose a location")
        self.fields["type_code"].choices = _choices(((t.code, f"{t.name} ({t.minutes} min)") for t in types),
                                                    "Choose a type")
        _room_choices(self.fields["room_id"], rooms)

    def clean(self):
        data = super().clean()
        if data.get("repeat") == "weekly":
            if not data.get("count") and not data.get("until"):
                self.add_error("count", "Say how many appointments, or until when.")
            if data.get("count") and data.get("until"):
                self.add_error("until", "Give a number of appointments or an end date, not both.")
        return data

    @property
    def start(self) -> datetime:
        """The local start (naive: the practice's wall clock)."""
        return datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"])


class CancelForm(forms.Form):
    reason_code = forms.ChoiceField(label="Reason", choices=_choices(records.CANCEL_REASONS, "Choose a reason"),
                                    error_messages={"required": "Choose the reason for the cancellation."})
    reason_text = forms.CharField(label="In words", required=False, max_length=300)
    scope = forms.ChoiceField(label="Which appointments", required=False, initial="one",
                              choices=(("one", "This appointment only"), ("future", "This and all later ones in the series")))


def _room_choices(field: forms.ChoiceField, rooms) -> None:
    """Rooms grouped by location ([(location name, [(id, room name)])]) after "No room". Any id is
    let through: the booking service says whether it is a room of the chosen location."""
    field.choices = [("", "No room"), *rooms]
    field.valid_value = lambda value: True


class RescheduleForm(forms.Form):
    date = forms.DateField(label="New date", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    time = forms.TimeField(label="New time", widget=TIME_INPUT, error_messages=TIME_ERRORS)
    practitioner_id = forms.ChoiceField(label="Provider", required=False)
    location_id = forms.ChoiceField(label="Location", required=False)
    room_id = forms.ChoiceField(label="Room", required=False)
    scope = forms.ChoiceField(label="Which appointments", required=False, initial="one",
                              choices=(("one", "This appointment only"), ("future", "This and all later ones in the series")))
    overbook = forms.BooleanField(label="Overbook if the time is taken", required=False)

    def __init__(self, *args, practitioners=(), locations=(), rooms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner_id"].choices = _choices(practitioners, "Same provider")
        self.fields["location_id"].choices = _choices(locations, "Same location")
        _room_choices(self.fields["room_id"], rooms)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"])


TIME_OF_DAY = (("", "Any time"), ("morning", "Mornings"), ("afternoon", "Afternoons"))
WEEKDAY_CHOICES = [(str(n), name) for n, name in WEEKDAYS]


class FindForm(forms.Form):
    type_code = forms.ChoiceField(label="Appointment type", error_messages={"required": "Choose a type."})
    practitioner_id = forms.ChoiceField(label="Provider", required=False)
    location_id = forms.ChoiceField(label="Location", required=False)
    start_date = forms.DateField(label="From", required=False, widget=DATE_INPUT, error_messages=DATE_ERRORS)
    days = forms.IntegerField(label="Days to search", required=False, min_value=1, max_value=366, initial=60)
    time_of_day = forms.ChoiceField(label="Time of day", required=False, choices=TIME_OF_DAY)
    weekdays = forms.MultipleChoiceField(label="Weekdays", required=False, choices=WEEKDAY_CHOICES,
                                         widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, practitioners=(), locations=(), types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = _choices(((t.code, f"{t.name} ({t.minutes} min)") for t in types),
                                                    "Choose a type")
        self.fields["practitioner_id"].choices = _choices(practitioners, "Any provider")
        self.fields["location_id"].choices = _choices(locations, "Any location")


class WaitlistForm(forms.Form):
    patient_id = forms.CharField(label="Patient", max_length=64,
                                 error_messages={"required": "Choose the patient: search by name, date of birth or MRN."})
    type_code = forms.ChoiceField(label="Appointment type", error_messages={"required": "Choose a type."})
    practitioner_id = forms.ChoiceField(label="Provider", required=False)
    location_id = forms.ChoiceField(label="Location", required=False)
    earliest = forms.DateField(label="From", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    latest = forms.DateField(label="Until", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    time_of_day = forms.ChoiceField(label="Time of day", required=False, choices=WaitlistEntry.TIMES_OF_DAY)
    weekdays = forms.MultipleChoiceField(label="Weekdays", required=False, choices=WEEKDAY_CHOICES,
                                         widget=forms.CheckboxSelectMultiple)
    note = forms.CharField(label="Note", required=False, max_length=300)

    def __init__(self, *args, practitioners=(), locations=(), types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = _choices(((t.code, f"{t.name} ({t.minutes} min)") for t in types),
                                                    "Choose a type")
        self.fields["practitioner_id"].choices = _choices(practitioners, "Any provider")
        self.fields["location_id"].choices = _choices(locations, "Any location")
        if not self.is_bound:
            today = practice_time.today()
            self.initial.setdefault("earliest", today)
            self.initial.setdefault("latest", today + timedelta(days=30))


class _PractitionerLocationForm(forms.Form):
    practitioner_id = forms.ChoiceField(label="Provider", error_messages={"required": "Choose a provider."})
    location_id = forms.ChoiceField(label="Location", error_messages={"required": "Choose a location."})

    def __init__(self, *args, practitioners=(), locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner_id"].choices = _choices(practitioners, "Choose a provider")
        self.fields["location_id"].choices = _choices(locations, "Choose a location")


class WeeklyHoursForm(_PractitionerLocationForm):
    weekday = forms.TypedChoiceField(label="Weekday", coerce=int, choices=_choices(WEEKDAYS, "Choose a weekday"),
                                     error_messages={"required": "Choose a weekday."})
    start = forms.TimeField(label="From", widget=TIME_INPUT, error_messages=TIME_ERRORS)
    end = forms.TimeField(label="To", widget=TIME_INPUT, error_messages=TIME_ERRORS)
    valid_from = forms.DateField(label="Valid from (optional)", required=False, widget=DATE_INPUT,
                                 error_messages=DATE_ERRORS)
    valid_to = forms.DateField(label="Valid until (optional)", required=False, widget=DATE_INPUT,
                               error_messages=DATE_ERRORS)


class BreakForm(WeeklyHoursForm):
    label = forms.CharField(label="Label", required=False, max_length=60, initial="Lunch")


class ExceptionForm(forms.Form):
    practitioner_id = forms.ChoiceField(label="Provider", error_messages={"required": "Choose a provider."})
    location_id = forms.ChoiceField(label="Location", required=False)
    kind = forms.ChoiceField(label="Kind", choices=ScheduleException.KINDS)
    start = forms.DateTimeField(label="From", widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS,
                                error_messages={"invalid": "Enter a real date and time, like 2026-03-02 08:00.",
                                                "required": "Give the start."})
    end = forms.DateTimeField(label="To", widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS,
                              error_messages={"invalid": "Enter a real date and time, like 2026-03-02 12:00.",
                                              "required": "Give the end."})
    reason = forms.CharField(label="Reason", required=False, max_length=200)

    def __init__(self, *args, practitioners=(), locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner_id"].choices = _choices(practitioners, "Choose a provider")
        self.fields["location_id"].choices = _choices(locations, "Every location")


class HolidayForm(forms.Form):
    date = forms.DateField(label="Date", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    name = forms.CharField(label="Name", max_length=100, error_messages={"required": "Give the holiday a name."})
    location_id = forms.ChoiceField(label="Location", required=False)

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location_id"].choices = _choices(locations, "Every location")


class AppointmentTypeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=32, error_messages={"required": "Give a short code, like follow-up."})
    name = forms.CharField(label="Name", max_length=100, error_messages={"required": "Give the type a name."})
    minutes = forms.IntegerField(label="Minutes", min_value=5, max_value=480,
                                 error_messages={"required": "Say how long it lasts.",
                                                 "invalid": "Give the length in whole minutes."})
    colour = forms.ChoiceField(label="Colour", choices=PALETTE)
    active = forms.BooleanField(label="Can be booked", required=False, initial=True)


class OverbookForm(forms.Form):
    practitioner_id = forms.ChoiceField(label="Provider", error_messages={"required": "Choose a provider."})
    max_overlapping = forms.IntegerField(label="Appointments that may overlap", min_value=1, max_value=10,
                                         error_messages={"required": "Give a number from 1 to 10."})

    def __init__(self, *args, practitioners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner_id"].choices = _choices(practitioners, "Choose a provider")
