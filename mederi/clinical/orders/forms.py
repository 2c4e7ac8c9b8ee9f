"""The lab order form, with the same checks as `interop.orders.place_lab_order` shown at the fields."""

from __future__ import annotations

from django import forms

from mederi.core.errors import MederiError
from mederi.interop.orders import LAB_TESTS, PRIORITIES

NOTE_LIMIT = 1000


class LabOrderForm(forms.Form):
    tests = forms.MultipleChoiceField(choices=list(LAB_TESTS.items()), widget=forms.CheckboxSelectMultiple,
                                      label="Tests", error_messages={"required": "Choose at least one test.",
                                                                     "invalid_choice": "'%(value)s' is not a test "
                                                                                       "this practice orders."})
    lab = forms.TypedChoiceField(coerce=int, label="Lab", error_messages={
        "required": "Choose the lab that will do the tests.",
        "invalid_choice": "Choose a lab from the list: that one is not set up or is switched off."})
    priority = forms.ChoiceField(choices=[(p, p.capitalize()) for p in PRIORITIES], initial="routine",
                                 label="Priority", error_messages={"invalid_choice": "Priority is routine, urgent or "
                                                                                     "stat."})
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Note to the lab",
                           max_length=NOTE_LIMIT, error_messages={
                               "max_length": f"Keep the note under {NOTE_LIMIT} characters."})

    def __init__(self, *args, labs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].choices = [("", "Choose a lab")] + [(lab.pk, lab.name) for lab in labs]
        if len(labs) == 1:
            self.fields["lab"].initial = labs[0].pk

    def add_service_error(self, error: MederiError) -> None:
        for issue in error.issues:
            self.add_error(issue.expression if issue.expression in self.fields else None, issue.diagnostics)
