"""Forms of registration: they take what a person typed and show each problem at its field.

The rules themselves live in `rules` (shared with the CSV importer and the services), so a form
only lays fields out and turns the rules' issues into field errors.
"""

from __future__ import annotations

from django import forms

from mederi.core.errors import MederiError
from mederi.patients import rules
from mederi.patients.selectors import today

DATE_HELP = "Like 1974-12-25 or 12/25/1974."
NONE = ("", "— none —")


def _text(label: str, required: bool = False, max_length: int = 100, **attrs) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length,
                           widget=forms.TextInput(attrs=attrs) if attrs else None)


def _choice(label: str, choices: dict, blank: str | None = None, initial: str | None = None) -> forms.ChoiceField:
    options = ([("", blank)] if blank is not None else []) + list(choices.items())
    return forms.ChoiceField(label=label, required=False, choices=options, initial=initial)


def add_issues(form: forms.Form, issues) -> None:
    """Show each issue beside the field it names, or above the form when it names none."""
    for issue in issues:
        field = issue.expression if issue.expression in form.fields else None
        if field and form.has_error(field):
            continue  # the field's own check already said what is wrong
        form.add_error(field, issue.diagnostics)


def add_service_error(form: forms.Form, error: MederiError) -> None:
    add_issues(form, error.issues)


class PatientDetailsForm(forms.Form):
    """Demographics, emergency contact and insurance: what both registering and editing change."""

    family = _text("Family (last) name", autocomplete="off")
    given = _text("Given (first) name", autocomplete="off")
    middle = _text("Middle name")
    birth_date = _text("Date of birth", max_length=10, placeholder="YYYY-MM-DD", inputmode="numeric")
    gender = _choice("Sex / gender", rules.GENDERS, blank="— choose —")
    phone = _text("Phone", max_length=30, inputmode="tel", autocomplete="off")
    phone_use = _choice("Phone type", rules.PHONE_USES, initial="mobile")
    email = _text("Email", max_length=200, inputmode="email", autocomplete="off")
    address_line = _text("Street address", max_length=200)
    city = _text("City")
    state = _text("State", max_length=2)
    postal_code = _text("ZIP code", max_length=10, inputmode="numeric")
    contact_name = _text("Emergency contact name", max_length=200)
    contact_relationship = _text("Relationship to the patient", placeholder="e.g. sister")
    contact_phone = _text("Emergency contact phone", max_length=30, inputmode="tel")

    def __init__(self, *args, payers=(), with_coverage: bool = True, **kwargs):
        """Without `with_coverage` (someone who may not record insurance) the insurance fields are left out."""
        super().__init__(*args, **kwargs)
        self.fields["birth_date"].help_text = DATE_HELP
        self.with_coverage = with_coverage
        payer_choices = [NONE] + [(p.id, p.name) for p in payers]
        self.payer_ids = {p.id for p in payers}
        for order in rules.COVERAGE_ORDERS if with_coverage else ():
            label = order.capitalize()
            self.fields[f"{order}_payer"] = forms.ChoiceField(label=f"{label} insurance company", required=False,
                                                              choices=payer_choices)
            self.fields[f"{order}_member_id"] = _text("Member id (on the card)", max_length=64, autocomplete="off")
            self.fields[f"{order}_group_number"] = _text("Group number", max_length=64)
            self.fields[f"{order}_subscriber_relationship"] = _choice(
                "The patient is", rules.SUBSCRIBER_RELATIONSHIPS, initial="self")
            self.fields[f"{order}_subscriber_family"] = _text("Subscriber's family name")
            self.fields[f"{order}_subscriber_given"] = _text("Subscriber's given name")
            self.fields[f"{order}_subscriber_birth_date"] = _text("Subscriber's date of birth", max_length=10,
                                                                  placeholder="YYYY-MM-DD")
            self.fields[f"{order}_subscriber_birth_date"].help_text = DATE_HELP

    with_guarantor = False
    with_consents = False

    def clean(self):
        cleaned = super().clean()
        add_issues(self, rules.registration_issues(cleaned, today(), self.payer_ids,
                                                   with_guarantor=self.with_guarantor,
                                                   with_consents=self.with_consents))
        return cleaned

    def coverage_fields(self, order: str) -> list:
        return [self[name] for name in rules.coverage_fields(order)]

    @property
    def demographic_fields(self) -> list:
        return [self[name] for name in ("family", "given", "middle", "birth_date", "gender", "phone", "phone_use",
                                        "email", "address_line", "city", "state", "postal_code")]

    @property
    def contact_fields(self) -> list:
        return [self[name] for name in ("contact_name", "contact_relationship", "contact_phone")]

    @property
    def primary_fields(self) -> list:
        return self.coverage_fields("primary") if self.with_coverage else []

    @property
    def secondary_fields(self) -> list:
        return self.coverage_fields("secondary") if self.with_coverage else []


class RegistrationForm(PatientDetailsForm):
    """Everything a new patient's registration holds, checked in one go."""

    with_guarantor = True
    with_consents = True

    guarantor = _choice("Who pays the bills (guarantor)", rules.GUARANTOR_RELATIONSHIPS, initial="self")
    guarantor_family = _text("Guarantor's family name")
    guarantor_given = _text("Guarantor's given name")
    guarantor_phone = _text("Guarantor's phone", max_length=30, inputmode="tel")
    privacy_notice = forms.BooleanField(required=False, label="Notice of privacy practices given and acknowledged")
    consent_to_treat = forms.BooleanField(required=False, label="Consent to treat signed")
    sms_reminders = forms.BooleanField(required=False, label="May send appointment reminders by text message (SMS)")
    email_reminders = forms.BooleanField(required=False, label="May send appointment reminders by email")

    def clean(self):
        cleaned = super().clean()
        getlist = getattr(self.data, "getlist", None)
        cleaned["distinct_from"] = [v for v in (getlist("distinct_from") if getlist else []) if v]
        return cleaned

    @property
    def guarantor_fields(self) -> list:
        return [self[name] for name in rules.GUARANTOR_FIELDS]

    @property
    def consent_fields(self) -> list:
        return [self[name] for name in rules.CONSENT_FIELDS]


class MergeForm(forms.Form):
    survivor = forms.CharField(label="Chart to keep (patient id or MRN)", max_length=64)
    duplicate = forms.CharField(label="Duplicate chart to merge into it (patient id or MRN)", max_length=64)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("survivor") and cleaned.get("survivor") == cleaned.get("duplicate"):
            self.add_error("duplicate", "Choose two different charts: a chart cannot be merged into itself.")
        return cleaned
