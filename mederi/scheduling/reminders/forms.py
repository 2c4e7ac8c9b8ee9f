"""Forms of the reminders pages: they read what was typed; services check the rest again before saving."""

from django import forms

from mederi.core.errors import InvalidRequest
from mederi.scheduling.reminders.models import CHANNELS, OFFSET_UNITS
from mederi.scheduling.reminders.templating import PLACEHOLDERS, check_template


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Shown in this list, e.g. “SMS 2 hours before”.")
    appointment_type = forms.CharField(
        max_length=64, required=False, label="Appointment type code",
        help_text="The code of one appointment type (e.g. new-patient); leave blank for every type.")
    offset_amount = forms.IntegerField(min_value=1, label="How long before",
                                       error_messages={"invalid": "write a whole number, e.g. 3"})
    offset_unit = forms.ChoiceField(choices=OFFSET_UNITS, label="Unit",
                                    help_text="Days keep the same time of day; hours and minutes are exact.")
    channel = forms.ChoiceField(choices=CHANNELS)
    template = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), label="Message",
        help_text="Placeholders: " + ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        + ". A text message always ends with “Reply C to confirm, X to cancel.”")
    active = forms.BooleanField(required=False, initial=True, label="Active (sends reminders)")

    def clean(self):
        # The text's own rules, shown beside the other fields' errors rather than after them.
        data = super().clean()
        if data.get("template") and data.get("channel"):
            try:
                check_template(data["template"], data["channel"])
            except InvalidRequest as problem:
                self.add_error("template", problem.issues[0].diagnostics)
        return data

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["appointment_type"] = (data.get("appointment_type") or "").strip()
        return data


class SendNowForm(forms.Form):
    channel = forms.ChoiceField(choices=CHANNELS, label="Send by")


class OutboxReplyForm(forms.Form):
    body = forms.CharField(max_length=160, label="Reply as the patient",
                           help_text="C confirms, X cancels; anything else gets asked again.")
