"""The audit report's filters."""

from django import forms

from mederi.audit.services import ACTIONS, OUTCOMES


def _choices(values) -> list[tuple[str, str]]:
    return [("", "any")] + [(value, value) for value in sorted(values)]


class ReportFilter(forms.Form):
    patient = forms.CharField(label="Patient id", required=False, max_length=64)
    user = forms.CharField(label="User", required=False, max_length=150,
                           help_text="The username (or system:… name) exactly as it is logged.")
    action = forms.ChoiceField(label="Action", required=False, choices=_choices(ACTIONS))
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=_choices(OUTCOMES))
    date_from = forms.DateField(label="From (date, UTC)", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To (date, UTC)", required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The 'from' date is after the 'to' date.")
        return data

    def criteria(self) -> dict:
        """Keyword arguments for `selectors.search_entries` (none when the filters are invalid)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"patient_id": data["patient"].strip(), "actor": data["user"].strip(), "action": data["action"],
                "outcome": data["outcome"], "date_from": data["date_from"], "date_to": data["date_to"]}
