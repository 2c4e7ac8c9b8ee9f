"""The forms of the structured entries. They lay fields out and keep what was typed; the services
check it (so the API, the demo and the pages share one set of rules) and name the field of each problem."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy

from mederi.clinical.entries import allergies, immunizations, medications, problems, social


def _text(label: str, max_length: int = 200, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=max_length, help_text=help_text,
                           widget=forms.TextInput(attrs={"autocomplete": "off", **attrs}))


def _number(label: str, help_text: str = "", **attrs) -> forms.CharField:
    return _text(label, 12, help_text, inputmode="decimal", size="6", **attrs)


def _choice(label: str, choices: dict, blank: str | None = "— choose —", initial: str | None = None,
            widget=forms.Select) -> forms.CharField:
    """A list to choose from. The service, not the form, says when a value is not on it (in its own words)."""
    options = ([("", blank)] if blank is not None else []) + list(choices.items())
    return forms.CharField(label=label, required=False, initial=initial, widget=widget(choices=options))


DATE_HELP = "Like 2024-03-15 or 03/15/2024."


def _searching(kind: str, options_id: str) -> dict:
    """Attributes of a search-as-you-type box: htmx fills its datalist as the person types."""
    return {"list": options_id, "hx-get": reverse_lazy("clinical:entry-suggestions", args=[kind]),
            "hx-trigger": "input changed delay:250ms", "hx-target": f"#{options_id}", "hx-swap": "innerHTML"}


class VitalsForm(forms.Form):
    systolic = _number("Blood pressure, systolic (mmHg)")
    diastolic = _number("Blood pressure, diastolic (mmHg)")
    heart_rate = _number("Heart rate (/min)")
    respiratory_rate = _number("Respiratory rate (/min)")
    temperature = _number("Temperature")
    temperature_unit = _choice("Temperature unit", {"C": "°C", "F": "°F"}, blank=None)
    spo2 = _number("SpO2 (%)")
    height = _number("Height")
    height_unit = _choice("Height unit", {"cm": "cm", "in": "in"}, blank=None)
    weight = _number("Weight")
    weight_unit = _choice("Weight unit", {"kg": "kg", "lb": "lb"}, blank=None)
    taken_on = _text("Day taken", 10, "Today when left empty. " + DATE_HELP, placeholder="YYYY-MM-DD")


class ProblemForm(forms.Form):
    problem = _text("Problem", help_text="Type a few letters and choose from the suggestions.",
                    **_searching("problems", "problem-options"))
    icd10 = _text("ICD-10-CM code", 10, "Filled from the suggestion; or type it (like E11.9).", size="8")
    snomed = _text("SNOMED CT code", 18, "Optional.", size="12")
    onset = _text("Onset", 10, DATE_HELP, placeholder="YYYY-MM-DD")
    clinical_status = _choice("Status", problems.STATUSES, blank=None, initial="active")


class AllergyForm(forms.Form):
    substance = _text("Substance", help_text="A drug, food or other substance; choose a suggestion to code it.",
                      **_searching("allergies", "substance-options"))
    category = _choice("Kind", allergies.CATEGORIES)
    reaction = _text("Reaction", placeholder="e.g. hives")
    severity = _choice("Severity", allergies.SEVERITIES)
    criticality = _choice("Criticality", allergies.CRITICALITIES)
    no_known = forms.BooleanField(label="No known allergies", required=False)


class MedicationForm(forms.Form):
    drug = _text("Drug", help_text="Type a few letters and choose from the catalogue to code it in RxNorm.",
                 **_searching("medications", "drug-options"))
    rxcui = _text("RxCUI", 12, "Filled when the drug is chosen from the catalogue; or type it.", size="8")
    dosage = _text("Directions", placeholder="e.g. 1 tablet by mouth daily")
    started = _text("Started", 10, DATE_HELP, placeholder="YYYY-MM-DD")


class ReconcileForm(forms.Form):
    """One decision (and new directions when changed) per active medication."""

    def __init__(self, *args, active=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.medications = list(active)
        for row in self.medications:
            self.fields[f"decision_{row.id}"] = _choice(
                row.name, medications.DECISIONS, blank=None, widget=forms.RadioSelect)
            self.fields[f"dosage_{row.id}"] = _text("New directions (when changed)", initial=row.dosage)

    def rows(self):
        return [(row, self[f"decision_{row.id}"], self[f"dosage_{row.id}"]) for row in self.medications]


class ImmunizationForm(forms.Form):
    vaccine = _choice("Vaccine", {})
    given_on = _text("Day given", 10, DATE_HELP, placeholder="YYYY-MM-DD")
    lot = _text("Lot number", 40)
    site = _choice("Site", immunizations.SITES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vaccine"].widget.choices = [("", "— choose —")] + [
            (v.cvx, f"{v.name} (CVX {v.cvx})") for v in sorted(immunizations.vaccines().values(),
                                                               key=lambda v: (v.group, v.name))]


class SmokingForm(forms.Form):
    status = _choice("Smoking status", social.SMOKING_ANSWERS)


class FamilyHistoryForm(forms.Form):
    relationship = _choice("Relative", social.RELATIVES)
    condition = _text("Condition", **_searching("problems", "condition-options"))
    onset_age = _text("Age it began", 3, "In years; optional.", inputmode="numeric", size="4")


FORMS = {"vitals": VitalsForm, "problems": ProblemForm, "allergies": AllergyForm, "medications": MedicationForm,
         "immunizations": ImmunizationForm, "smoking": SmokingForm, "family-history": FamilyHistoryForm}
