"""The payer directory's form: it checks what a person typed, with the same rules the service applies."""

from __future__ import annotations

from django import forms

from mederi.billing.models import PayerConnection
from mederi.billing.services import PayerDetails, payer_problems, routing_problems
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository

DETAIL_FIELDS = ("name", "payer_id", "address_line", "city", "state", "postal_code", "phone")


class PayerForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    payer_id = forms.CharField(max_length=80, label="Payer ID",
                               help_text="The payer's X12 id, as the clearinghouse's payer list gives it.")
    address_line = forms.CharField(max_length=200, required=False, label="Street address")
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=2, required=False, help_text="Two letters, such as IL.")
    postal_code = forms.CharField(max_length=10, required=False, label="ZIP code")
    phone = forms.CharField(max_length=40, required=False, label="Phone (provider services)")

    transport = forms.ChoiceField(choices=PayerConnection.TRANSPORTS, label="How the payer is reached")
    url = forms.CharField(max_length=500, required=False, label="HTTPS address (CORE endpoint)",
                          help_text="For HTTPS: the full address, such as https://clearinghouse.example.com/core.")
    host = forms.CharField(max_length=255, required=False, label="SFTP host")
    port = forms.IntegerField(required=False, label="SFTP port", help_text="Empty means 22.")
    username = forms.CharField(max_length=200, required=False, label="User name")
    password = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(render_value=False))
    host_key = forms.CharField(required=False, label="SFTP host key", widget=forms.Textarea(attrs={"rows": 2}),
                               help_text="The server's OpenSSH public key line (ssh-ed25519 AAAA...).")
    ca_file = forms.CharField(max_length=500, required=False, label="Certificate file to trust (optional)",
                              help_text="For HTTPS with a private certificate authority: a path on this server.")
    sender_id = forms.CharField(max_length=15, label="Submitter ID (ISA06)")
    receiver_id = forms.CharField(max_length=15, label="Receiver ID (ISA08)")
    submitter_name = forms.CharField(max_length=60, required=False, label="Submitter name")
    usage = forms.ChoiceField(choices=PayerConnection.USAGES, initial=PayerConnection.TEST, label="Usage (ISA15)")
    timeout_seconds = forms.IntegerField(initial=30, label="Wait for an answer (seconds)")
    active = forms.BooleanField(required=False, initial=True, label="Use this connection")
    timely_filing_days = forms.IntegerField(required=False, initial=365, label="Timely filing limit (days)",
                                            help_text="Claims sent later than this after the service are denied; "
                                                      "the scrubber warns first. Empty means 365.")

    def __init__(self, *args, repository: Repository, organization_id: str | None = None,
                 existing: PayerConnection | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.repository = repository
        self.organization_id = organization_id
        self.existing = existing
        if existing is not None and existing.has_password:
            self.fields["password"].help_text = "A password is stored; leave this empty to keep it."
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}-help"

    def _post_clean(self):
        super()._post_clean()
        # A screen reader reads a field's error with the field itself.
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = " ".join(filter(None, (f"id_{name}-error", attrs.get("aria-describedby"))))

    def details(self) -> PayerDetails:
        return PayerDetails(**{name: self.cleaned_data.get(name) or "" for name in DETAIL_FIELDS})

    def routing(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.fields if name not in DETAIL_FIELDS}

    def clean(self):
        cleaned = super().clean()
        problems = {**payer_problems(self.repository, self.details(), self.organization_id),
                    **routing_problems(self.routing(), self.existing)}
        for name, message in problems.items():
            if name not in self.errors:  # the field's own error (not a number, too long) says it already
                self.add_error(name, message)
        return cleaned

    def add_service_error(self, error: MederiError) -> None:
        """Show a service's refusal beside the field it names, or above the form."""
        for issue in error.issues:
            name = issue.expression if issue.expression in self.fields else None
            text = issue.diagnostics[:1].upper() + issue.diagnostics[1:]
            self.add_error(name, text)

    @classmethod
    def initial_for(cls, details: PayerDetails, connection: PayerConnection | None) -> dict:
        initial = {name: getattr(details, name) for name in DETAIL_FIELDS}
        if connection is not None:
            initial.update({name: getattr(connection, name) for name in cls.base_fields
                            if name not in DETAIL_FIELDS and name != "password"})
        return initial
