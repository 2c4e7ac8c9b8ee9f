"""Forms of the administration screens: they check what a person typed; the services decide."""

from __future__ import annotations

import json

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.core.exceptions import ValidationError

from mederi.accounts import selectors
from mederi.accounts.models import ClientProfile, Role
from mederi.accounts.permissions import ACTIONS, GROUPS, all_permissions
from mederi.core.errors import MederiError

EVERY_LOCATION = ("", "Every location")
ACCESS_LEVELS = (("read", "Read"), ("write", "Create and change"), ("delete", "Delete"))


def location_choices() -> list[tuple[str, str]]:
    return [EVERY_LOCATION, *selectors.locations()]


def role_choices() -> list[tuple[str, str]]:
    return [(role.slug, role.name) for role in Role.objects.order_by("name")]


def add_service_error(form: forms.Form, error: MederiError) -> None:
    """Show a service's refusal beside the field it names, or above the form."""
    for issue in error.issues:
        field = issue.expression if issue.expression in form.fields else None
        text = issue.diagnostics[:1].upper() + issue.diagnostics[1:]
        form.add_error(field, text if text.endswith(".") else text + ".")


class StaffUserForm(forms.Form):
    username = forms.CharField(max_length=150)
    full_name = forms.CharField(max_length=200, label="Full name")
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False,
                               help_text=" ".join(password_validators_help_texts()))
    practitioner_id = forms.CharField(max_length=64, required=False, label="Practitioner id (optional)",
                                      help_text="The FHIR Practitioner this person is, when they see patients.")
    mfa_required = forms.BooleanField(required=False, initial=True, label="Require two-step sign-in")
    roles = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    location = forms.ChoiceField(required=False, label="Roles apply at",
                                 help_text="The chosen roles are given at this location only, or everywhere.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = role_choices()
        self.fields["location"].choices = location_choices()

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        field = get_user_model()._meta.get_field("username")
        try:
            field.run_validators(username)
        except ValidationError as error:
            raise ValidationError(error.messages) from error
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError(f"The username '{username}' is taken. Choose another.")
        return username

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            candidate = get_user_model()(username=cleaned.get("username", ""),
                                         first_name=(cleaned.get("full_name") or "")[:150])
            try:
                validate_password(password, candidate)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class AssignRoleForm(forms.Form):
    role = forms.ChoiceField()
    location = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices()
        self.fields["location"].choices = location_choices()


class RemoveRoleForm(forms.Form):
    role = forms.SlugField(max_length=64)
    location = forms.CharField(max_length=64, required=False)


class PermissionsField(forms.MultipleChoiceField):
    default_error_messages = {
        "invalid_choice": "'%(value)s' is not a permission Mederi knows; choose from the list.",
    }

    def __init__(self, **kwargs):
        super().__init__(choices=list(all_permissions().items()), required=False,
                         widget=forms.CheckboxSelectMultiple, **kwargs)


class RoleForm(forms.Form):
    slug = forms.SlugField(max_length=64, label="Short name", help_text="A short name for links and the audit log, e.g. front_desk_plus.")
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    permissions = PermissionsField()

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug == "new":  # the address of this very form
            raise ValidationError("'new' cannot be a role's short name. Choose another.")
        if Role.objects.filter(slug=slug).exists():
            raise ValidationError(f"A role '{slug}' exists already. Choose another short name.")
        return slug


class RolePermissionsForm(forms.Form):
    permissions = PermissionsField()


def permission_grid(selected) -> dict:
    """The permission checkboxes laid out as a person reads them: record groups by access level,
    then the actions that are permissions of their own."""
    selected = set(selected or ())
    rows = []
    for group in GROUPS:
        cells = [{"code": f"{group}.{access}", "label": f"{verb} {group} records",
                  "checked": f"{group}.{access}" in selected} for access, verb in ACCESS_LEVELS]
        rows.append({"group": group, "cells": cells})
    actions = [{"code": code, "label": label, "checked": code in selected} for code, label in ACTIONS.items()]
    return {"levels": [label for _, label in ACCESS_LEVELS], "rows": rows, "actions": actions}


class ClientForm(forms.Form):
    """Registering or changing an OAuth client. Kind and type are chosen once, at registration."""

    name = forms.CharField(max_length=255)
    kind = forms.ChoiceField(choices=ClientProfile._meta.get_field("kind").choices, initial=ClientProfile.APP,
                             widget=forms.RadioSelect)
    client_type = forms.ChoiceField(
        label="Client type", widget=forms.RadioSelect, initial="public",
        choices=[("public", "Public (runs in a browser or on a phone; cannot keep a secret)"),
                 ("confidential", "Confidential (runs on a server; gets a client secret)")])
    redirect_uris = forms.CharField(required=False, label="Redirect URIs", widget=forms.Textarea(attrs={"rows": 3}),
                                    help_text="One per line. Required for apps: where the browser returns after "
                                              "sign-in.")
    allowed_scopes = forms.CharField(required=False, label="Allowed scopes",
                                     help_text="Separated by spaces, e.g. patient/*.rs launch openid. "
                                               "Leave blank to allow any SMART scope.")
    launch_uri = forms.URLField(required=False, label="Launch URI", assume_scheme="https",
                                help_text="Where an EHR launch from inside Mederi opens the app.")
    jwks = forms.CharField(required=False, label="JWKS (public keys)", widget=forms.Textarea(attrs={"rows": 4}),
                           help_text='The JSON key set, {"keys": [...]}. A backend service needs this or a JWKS URL.')
    jwks_uri = forms.URLField(required=False, label="JWKS URL", assume_scheme="https")
    service_user = forms.ModelChoiceField(queryset=None, required=False, label="Service account",
                                          empty_label="(none)",
                                          help_text="Backend services only: the staff account the service acts as; "
                                                    "its roles are what the service may do.")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_user"].queryset = selectors.staff_users()
        if editing:  # fixed at registration
            del self.fields["kind"]
            del self.fields["client_type"]

    def clean_redirect_uris(self):
        return [line.strip() for line in self.cleaned_data["redirect_uris"].splitlines() if line.strip()]

    def clean_jwks(self):
        text = self.cleaned_data["jwks"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError as error:
            raise ValidationError(f"The JWKS is not valid JSON: {error}.") from error
        if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
            raise ValidationError('The JWKS must be a JSON object with a "keys" list, e.g. {"keys": [{...}]}.')
        return value

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "redirect_uris": data["redirect_uris"], "allowed_scopes": data["allowed_scopes"],
                "launch_uri": data["launch_uri"], "jwks": data["jwks"], "jwks_uri": data["jwks_uri"],
                "service_user": data["service_user"]}
