"""What a registration must hold before anything is stored, in words a front desk can act on.

The registration form, the patient edit form and the CSV importer all check what they were
given here, so a rule is written once. Each problem is an `Issue` whose `expression` names the
field it belongs to (`birth_date`, `secondary_payer`, ...), so a form shows it beside that field
and the importer beside the row.

A registration is a flat mapping of field names to what was typed (strings, or dates and
booleans from a form); the names are listed in `DEMOGRAPHIC_FIELDS`, `GUARANTOR_FIELDS`,
`coverage_fields(...)` and `CONSENT_FIELDS`.
"""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from mederi.core.errors import InvalidRequest, Issue
from mederi.patients import matching

GENDERS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}
PHONE_USES = {"mobile": "Mobile", "home": "Home", "work": "Work"}
# Who pays the bill when it is not the patient (v3-RoleCode personal relationships).
GUARANTOR_RELATIONSHIPS = {
    "self": "The patient", "SPS": "Spouse", "PRN": "Parent", "MTH": "Mother", "FTH": "Father",
    "GUARD": "Legal guardian", "CHILD": "Child", "FAMMEMB": "Other family member",
}
# The patient's relationship to the insurance subscriber (subscriber-relationship code system).
SUBSCRIBER_RELATIONSHIPS = {
    "self": "Self (the patient holds the policy)", "spouse": "Spouse of the subscriber",
    "child": "Child of the subscriber", "parent": "Parent of the subscriber",
    "common": "Common-law spouse of the subscriber", "other": "Other",
}
COVERAGE_ORDERS = {"primary": 1, "secondary": 2}
MAX_AGE_YEARS = 130

DEMOGRAPHIC_FIELDS = ("family", "given", "middle", "birth_date", "gender", "phone", "phone_use", "email",
                      "address_line", "city", "state", "postal_code", "contact_name", "contact_relationship",
                      "contact_phone")
GUARANTOR_FIELDS = ("guarantor", "guarantor_family", "guarantor_given", "guarantor_phone")
COVERAGE_PARTS = ("payer", "member_id", "group_number", "subscriber_relationship", "subscriber_family",
                  "subscriber_given", "subscriber_birth_date")
CONSENT_FIELDS = ("privacy_notice", "consent_to_treat", "sms_reminders", "email_reminders")

_POSTAL_CODE = re.compile(r"\d{5}(-?\d{4})?")
_STATE = re.compile(r"[A-Za-z]{2}")
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-./ ]{0,63}")


class RegistrationInvalid(InvalidRequest):
    """What was typed cannot be stored as it is; every issue names its field. Nothing was written."""


def coverage_fields(order: str) -> tuple[str, ...]:
    return tuple(f"{order}_{part}" for part in COVERAGE_PARTS)


def text(data, key: str) -> str:
    """A field as trimmed text ('' when missing); dates come back in ISO form."""
    value = data.get(key)
    if value is None or value is False:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


def flag(data, key: str) -> bool:
    value = data.get(key)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "on", "x")
    return bool(value)


def date_value(data, key: str, today: date) -> date | None:
    """A date field as a date; None when empty or not a date (the rules report which)."""
    value = data.get(key)
    if isinstance(value, date):
        return value
    return matching.parse_date(text(data, key), today)


def has_coverage(data, order: str) -> bool:
    return any(text(data, f"{order}_{part}") for part in COVERAGE_PARTS
               if part != "subscriber_relationship") or text(data, f"{order}_subscriber_relationship") not in (
        "", "self")


def _issue(field: str, message: str) -> Issue:
    return Issue(message, code="invalid", expression=field)


def _birth_date_issues(data, field: str, today: date, whose: str, required: bool = True) -> list[Issue]:
    raw = text(data, field)
    if not raw:
        return [_issue(field, f"Enter {whose} date of birth.")] if required else []
    born = date_value(data, field, today)
    if born is None:
        return [_issue(field, f"'{raw}' is not a date of birth: write it like 1974-12-25 or 12/25/1974.")]
    if born > today:
        return [_issue(field, f"The date of birth {born.isoformat()} is in the future.")]
    if born.year < today.year - MAX_AGE_YEARS:
        return [_issue(field, f"The date of birth {born.isoformat()} is more than {MAX_AGE_YEARS} years ago; "
                              "check the year.")]
    return []


def _phone_issues(data, field: str) -> list[Issue]:
    raw = text(data, field)
    if raw and not matching.is_valid_phone(raw):
        return [_issue(field, f"'{raw}' is not a phone number: enter 10 digits with the area code, "
                              "like 555-123-4567 (or +country code for a number abroad).")]
    return []


def demographic_issues(data, today: date) -> list[Issue]:
    issues = []
    if not text(data, "family"):
        issues.append(_issue("family", "Enter the patient's family (last) name."))
    if not text(data, "given"):
        issues.append(_issue("given", "Enter the patient's given (first) name."))
    issues += _birth_date_issues(data, "birth_date", today, "the patient's")
    gender = text(data, "gender")
    if gender and gender not in GENDERS:
        issues.append(_issue("gender", f"'{gender}' is not one of: {', '.join(GENDERS)}."))
    issues += _phone_issues(data, "phone")
    use = text(data, "phone_use")
    if use and use not in PHONE_USES:
        issues.append(_issue("phone_use", f"'{use}' is not one of: {', '.join(PHONE_USES)}."))
    email = text(data, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            issues.append(_issue("email", f"'{email}' is not an email address (like name@example.com)."))
    state = text(data, "state")
    if state and not _STATE.fullmatch(state):
        issues.append(_issue("state", f"'{state}' is not a state: use its two-letter code, like IL."))
    postal = text(data, "postal_code")
    if postal and not _POSTAL_CODE.fullmatch(postal):
        issues.append(_issue("postal_code", f"'{postal}' is not a ZIP code: 5 digits, or ZIP+4 like 62704-1234."))
    if (text(data, "contact_phone") or text(data, "contact_relationship")) and not text(data, "contact_name"):
        issues.append(_issue("contact_name", "Enter the emergency contact's name."))
    if text(data, "contact_name") and not text(data, "contact_phone"):
        issues.append(_issue("contact_phone", "Enter a phone number for the emergency contact."))
    issues += _phone_issues(data, "contact_phone")
    return issues


def guarantor_issues(data) -> list[Issue]:
    relationship = text(data, "guarantor") or "self"
    if relationship not in GUARANTOR_RELATIONSHIPS:
        return [_issue("guarantor", f"'{relationship}' is not a guarantor relationship; choose one of: "
                                    f"{', '.join(GUARANTOR_RELATIONSHIPS)}.")]
    if relationship == "self":
        return []
    issues = []
    if not text(data, "guarantor_family"):
        issues.append(_issue("guarantor_family", "Enter the guarantor's family name (or choose 'The patient')."))
    if not text(data, "guarantor_given"):
        issues.append(_issue("guarantor_given", "Enter the guarantor's given name."))
    return issues + _phone_issues(data, "guarantor_phone")


def coverage_issues(data, order: str, today: date, payer_ids) -> list[Issue]:
    """Problems of one coverage (`primary` or `secondary`); none when it was left empty."""
    if not has_coverage(data, order):
        return []
    label = "primary" if order == "primary" else "secondary"
    issues = []
    payer = text(data, f"{order}_payer")
    if not payer:
        issues.append(_issue(f"{order}_payer", f"Choose the {label} insurance company."))
    elif payer_ids is not None and payer not in payer_ids:
        issues.append(_issue(f"{order}_payer", f"'{payer}' is not a payer in the payer directory."))
    member_id = text(data, f"{order}_member_id")
    if not member_id:
        issues.append(_issue(f"{order}_member_id", f"Enter the member id from the {label} insurance card."))
    elif not _IDENTIFIER.fullmatch(member_id):
        issues.append(_issue(f"{order}_member_id", f"'{member_id}' is not a member id: letters, digits and "
                                                   "dashes, at most 64."))
    group = text(data, f"{order}_group_number")
    if group and not _IDENTIFIER.fullmatch(group):
        issues.append(_issue(f"{order}_group_number", f"'{group}' is not a group number: letters, digits and "
                                                      "dashes, at most 64."))
    relationship = text(data, f"{order}_subscriber_relationship") or "self"
    if relationship not in SUBSCRIBER_RELATIONSHIPS:
        issues.append(_issue(f"{order}_subscriber_relationship",
                             f"'{relationship}' is not one of: {', '.join(SUBSCRIBER_RELATIONSHIPS)}."))
    elif relationship != "self":
        if not text(data, f"{order}_subscriber_family"):
            issues.append(_issue(f"{order}_subscriber_family",
                                 "Enter the subscriber's family name: the patient is not the policy holder."))
        if not text(data, f"{order}_subscriber_given"):
            issues.append(_issue(f"{order}_subscriber_given", "Enter the subscriber's given name."))
        issues += _birth_date_issues(data, f"{order}_subscriber_birth_date", today, "the subscriber's")
    return issues


def consent_issues(data) -> list[Issue]:
    issues = []
    if flag(data, "sms_reminders") and not (text(data, "phone") and (text(data, "phone_use") or "mobile") == "mobile"):
        issues.append(_issue("sms_reminders", "Text reminders need a mobile phone number."))
    if flag(data, "email_reminders") and not text(data, "email"):
        issues.append(_issue("email_reminders", "Email reminders need an email address."))
    return issues


def registration_issues(data, today: date, payer_ids=None, *, with_guarantor: bool = True,
                        with_consents: bool = True) -> list[Issue]:
    """Every problem of a registration (or of an edit, without guarantor and consents)."""
    issues = demographic_issues(data, today)
    if with_guarantor:
        issues += guarantor_issues(data)
    issues += coverage_issues(data, "primary", today, payer_ids)
    issues += coverage_issues(data, "secondary", today, payer_ids)
    if has_coverage(data, "secondary") and not has_coverage(data, "primary"):
        issues.append(_issue("secondary_payer", "Enter the primary insurance before a secondary one."))
    elif (has_coverage(data, "secondary") and text(data, "secondary_payer") == text(data, "primary_payer")
          and text(data, "secondary_member_id") == text(data, "primary_member_id")):
        issues.append(_issue("secondary_member_id", "The secondary insurance repeats the primary one."))
    if with_consents:
        issues += consent_issues(data)
    mrn = text(data, "mrn")
    if mrn and not _IDENTIFIER.fullmatch(mrn):
        issues.append(_issue("mrn", f"'{mrn}' is not a medical record number: letters, digits and dashes."))
    return issues


def require_valid(issues: list[Issue]) -> None:
    if issues:
        raise RegistrationInvalid(issues, 400)
