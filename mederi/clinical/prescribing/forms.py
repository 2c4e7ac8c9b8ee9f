"""The prescribing form and the pharmacy form: each problem is shown at its field."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from mederi.clinical.prescribing import sigs
from mederi.clinical.prescribing.services import Prescription

RULES_HELP = " ".join(rule.words for rule in sigs.RULES.values())


class PrescriptionForm(forms.Form):
    rxcui = forms.CharField(label="Drug", max_length=12, error_messages={
        "required": "Choose the drug from the search results."})
    dose = forms.DecimalField(label="Dose", min_value=Decimal("0.001"), max_value=Decimal("10000"), decimal_places=3,
                              error_messages={"min_value": "The dose must be more than zero."})
    dose_unit = forms.ChoiceField(label="Dose unit", choices=[(k, v[1]) for k, v in sigs.DOSE_UNITS.items()])
    route = forms.ChoiceField(label="Route", choices=[(k, v[0]) for k, v in sigs.ROUTES.items()], initial="26643006")
    frequency = forms.ChoiceField(label="How often", choices=[(k, f.label) for k, f in sigs.FREQUENCIES.items()])
    days = forms.IntegerField(label="Duration (days)", required=False, min_value=1, max_value=sigs.MAX_DAYS,
                              help_text="How many days the supply lasts; leave empty for ongoing use.")
    quantity = forms.DecimalField(label="Quantity to dispense", min_value=Decimal("0.001"),
                                  max_value=Decimal("9999"), decimal_places=3,
                                  error_messages={"min_value": "The quantity must be more than zero."})
    quantity_unit = forms.ChoiceField(label="Quantity unit", choices=[(k, v[0]) for k, v in sigs.QUANTITY_UNITS.items()])
    refills = forms.IntegerField(label="Refills", min_value=0, max_value=sigs.MAX_REFILLS, initial=0,
                                 help_text=f"0 to 11. Controlled substances: {RULES_HELP}")
    substitution_allowed = forms.BooleanField(label="Generic substitution allowed", required=False, initial=True)
    note = forms.CharField(label="Note to the pharmacist", required=False, max_length=210,
                           widget=forms.Textarea(attrs={"rows": 2}))
    pharmacy_id = forms.ChoiceField(label="Pharmacy", required=False)
    encounter = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    draft_id = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, pharmacy_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pharmacy_id"].choices = [("", "— none: print the prescription —"), *pharmacy_choices]

    def prescription(self) -> Prescription:
        data = self.cleaned_data
        return Prescription(
            rxcui=data["rxcui"].strip(), dose=data["dose"], dose_unit=data["dose_unit"], route=data["route"],
            frequency=data["frequency"], days=data["days"], quantity=data["quantity"],
            quantity_unit=data["quantity_unit"], refills=data["refills"],
            substitution_allowed=data["substitution_allowed"], note=data["note"], pharmacy_id=data["pharmacy_id"])


class PharmacyForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    ncpdp = forms.CharField(label="NCPDP id", max_length=12, help_text="The pharmacy's 7-digit NCPDP provider id.")
    phone = forms.CharField(label="Phone", max_length=30, required=False)
    line = forms.CharField(label="Street address", max_length=200, required=False)
    city = forms.CharField(label="City", max_length=100, required=False)
    state = forms.CharField(label="State", max_length=2, required=False)
    postal_code = forms.CharField(label="ZIP code", max_length=10, required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(label="Why is it cancelled?", max_length=500)
