"""The filters every report page shares: a period, a location and a provider.

The form checks what was typed (real dates, a known location and provider, a period that ends
on or after it starts and is at most a year long); the selectors check the same again for any
other caller, and a refusal of theirs is shown at the field it names (`add_report_error`).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms

from mederi.core.errors import MederiError
from mederi.reports.selectors import MAX_DAYS
from mederi.scheduling import practice_time

DEFAULT_DAYS = 30
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
FIELDS = ("date_from", "date_to", "location", "provider")


def _date_errors(which: str) -> dict:
    return {"invalid": f"Enter a real date for the {which} day, like 2026-03-02.",
            "required": f"Give the {which} day of the period."}


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(label="From", widget=DATE_INPUT, error_messages=_date_errors("first"))
    date_to = forms.DateField(label="To", widget=DATE_INPUT, error_messages=_date_errors("last"))
    location = forms.ChoiceField(label="Location", required=False, error_messages={
        "invalid_choice": "There is no location '%(value)s'. Choose one from the list."})
    provider = forms.ChoiceField(label="Provider", required=False, error_messages={
        "invalid_choice": "There is no provider '%(value)s'. Choose one from the list."})

    def __init__(self, *args, locations=(), providers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [("", "All locations"), *locations]
        self.fields["provider"].choices = [("", "All providers"), *providers]

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last:
            if last < first:
                self.add_error("date_to", f"The period ends ({practice_time.day_text(last)}) before it starts "
                                          f"({practice_time.day_text(first)}). "
                                          "Choose a last day on or after the first.")
            elif (last - first).days + 1 > MAX_DAYS:
                self.add_error("date_from", f"The period is {(last - first).days + 1} days long. "
                                            f"Choose at most a year ({MAX_DAYS} days).")
        return data


def default_period() -> tuple:
    """The last 30 days, today included."""
    today = practice_time.today()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def filter_form(query, *, locations, providers) -> ReportFilterForm:
    """The form bound to the page's query string; a missing or blank date means the last 30 days."""
    first, last = default_period()
    data = {name: (query.get(name) or "").strip() for name in FIELDS}
    data["date_from"] = data["date_from"] or first.isoformat()
    data["date_to"] = data["date_to"] or last.isoformat()
    return ReportFilterForm(data, locations=locations, providers=providers)


def add_report_error(form: forms.Form, error: MederiError) -> None:
    """Show a selector's refusal next to the filter it names (or above the form)."""
    for issue in error.issues:
        form.add_error(issue.expression if issue.expression in form.fields else None, issue.diagnostics)
