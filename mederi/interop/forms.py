"""The lab connection form: the same checks as the service, shown beside the fields."""

from __future__ import annotations

from django import forms

from mederi.core.errors import MederiError
from mederi.interop.models import LabConnection
from mederi.interop.services import FIELDS, connection_problems


class LabConnectionForm(forms.Form):
    name = forms.CharField(max_length=200, label="Lab name")
    transport = forms.ChoiceField(choices=LabConnection.TRANSPORTS, label="How the lab is reached")
    host = forms.CharField(max_length=255, required=False, label="Host", help_text="The lab's MLLP listener.")
    port = forms.IntegerField(required=False, label="Port", help_text="Often 2575.")
    sending_application = forms.CharField(max_length=180, initial="MEDERI", label="Our application id (MSH-3)")
    sending_facility = forms.CharField(max_length=180, label="Our facility id (MSH-4)",
                                       help_text="The practice, as the lab knows it.")
    receiving_application = forms.CharField(max_length=180, required=False, label="Lab application id (MSH-5)")
    receiving_facility = forms.CharField(max_length=180, label="Lab facility id (MSH-6)")
    timeout_seconds = forms.IntegerField(initial=30, label="Wait for the lab's answer (seconds)")
    active = forms.BooleanField(required=False, initial=True, label="Send orders to this lab")

    def __init__(self, *args, connection_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection_id = connection_id

    def clean(self):
        cleaned = super().clean()
        for name, message in connection_problems(cleaned, self.connection_id).items():
            if name not in self.errors:
                self.add_error(name, message)
        return cleaned

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in FIELDS}

    def add_service_error(self, error: MederiError) -> None:
        for issue in error.issues:
            self.add_error(issue.expression if issue.expression in self.fields else None, issue.diagnostics)

    @staticmethod
    def initial_for(connection: LabConnection) -> dict:
        return {name: getattr(connection, name) for name in FIELDS}
