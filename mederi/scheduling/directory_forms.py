"""Forms of the directory pages (locations, rooms, providers). They read what was typed; the
rules (a valid NPI, a name not taken, an existing location) are the services' (directory.py),
whose refusals come back beside the field they name."""

from __future__ import annotations

from django import forms

from mederi.scheduling import directory
from mederi.scheduling.forms import _choices


class LocationForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name", error_messages={
        "required": "Enter the location's name, such as Riverside main clinic."})
    address_line = forms.CharField(max_length=200, required=False, label="Street address")
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=2, required=False, help_text="Two letters, such as IL.")
    postal_code = forms.CharField(max_length=10, required=False, label="ZIP code")
    phone = forms.CharField(max_length=40, required=False)
    time_zone = forms.ChoiceField(required=False, label="Time zone",
                                  help_text="Reminders give visit times in this zone; empty means the practice's own.")
    active = forms.BooleanField(required=False, initial=True, label="Active: takes bookings")

    def __init__(self, *args, repository=None, location_id: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.repository, self.location_id = repository, location_id
        self.fields["time_zone"].choices = _choices(((z, z) for z in directory.TIME_ZONES),
                                                    directory.time_zone_label(""))
        self.fields["time_zone"].valid_value = lambda value: True  # the service says what is wrong with it

    def details(self) -> directory.LocationDetails:
        return directory.LocationDetails(**{name: self.cleaned_data.get(name) or "" for name in self.fields
                                            if name != "active"}, active=bool(self.cleaned_data.get("active")))

    def clean(self):
        cleaned = super().clean()
        if self.repository is not None:  # every problem at once, not only the ones a field finds itself
            _add_problems(self, directory.location_problems(self.repository, self.details(), self.location_id))
        return cleaned

    @classmethod
    def initial_for(cls, details: directory.LocationDetails) -> dict:
        return dict(vars(details))


def _add_problems(form: forms.Form, problems: dict[str, str]) -> None:
    for name, message in problems.items():
        if name not in form.errors:  # the field's own error (required, too long) says it already
            form.add_error(name, message)


class RoomForm(forms.Form):
    room_name = forms.CharField(max_length=100, label="Room name", error_messages={
        "required": "Enter the room's name, such as Exam 1."})


class ProviderForm(forms.Form):
    prefix = forms.CharField(max_length=20, required=False, label="Title", help_text="Such as Dr.")
    given = forms.CharField(max_length=100, required=False, label="Given names")
    family = forms.CharField(max_length=100, label="Family name", error_messages={
        "required": "Enter the provider's family name."})
    qualifications = forms.MultipleChoiceField(required=False, label="Qualifications", choices=directory.QUALIFICATIONS,
                                               widget=forms.CheckboxSelectMultiple)
    npi = forms.CharField(max_length=20, required=False, label="NPI",
                          help_text="The 10-digit National Provider Identifier; its last digit is a check digit.")
    specialty = forms.ChoiceField(required=False, label="Specialty",
                                  choices=_choices(directory.SPECIALTIES, "No specialty given"))
    location_ids = forms.MultipleChoiceField(required=False, label="Works at", widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(required=False, initial=True, label="Active: can be booked")

    def __init__(self, *args, locations=(), repository=None, practitioner_id: str | None = None,
                 current_locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.repository, self.practitioner_id, self.current_locations = repository, practitioner_id, current_locations
        self.fields["location_ids"].choices = list(locations)
        # Unknown choices reach the service, which names the location it cannot find.
        self.fields["location_ids"].valid_value = lambda value: True
        self.fields["qualifications"].valid_value = lambda value: True
        self.fields["specialty"].valid_value = lambda value: True

    def clean(self):
        cleaned = super().clean()
        if self.repository is not None:
            _add_problems(self, directory.provider_problems(self.repository, self.details(), self.practitioner_id,
                                                            self.current_locations))
        return cleaned

    def details(self) -> directory.ProviderDetails:
        data = self.cleaned_data
        return directory.ProviderDetails(
            family=data.get("family") or "", given=data.get("given") or "", prefix=data.get("prefix") or "",
            qualifications=list(data.get("qualifications") or []), npi=data.get("npi") or "",
            specialty=data.get("specialty") or "", location_ids=list(data.get("location_ids") or []),
            active=bool(data.get("active")))
