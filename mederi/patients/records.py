"""The FHIR resources a registration becomes, and back: the form's fields of a stored chart.

Pure functions of dictionaries: no database. `services` stores what these build; the edit form
is filled from `fields_of_chart`. The shapes follow the front-desk conventions: Patient with an
MRN identifier (type MR), an emergency contact in Patient.contact (v2-0131 C); a guarantor or a
subscriber who is not the patient is a RelatedPerson; Coverage with the member id both as
subscriberId and as an identifier of type MB, the group as a class; consents as Consent.
"""

from __future__ import annotations

from datetime import date

from mederi.core import systems
from mederi.patients import matching
from mederi.patients.rules import (
    GUARANTOR_RELATIONSHIPS,
    SUBSCRIBER_RELATIONSHIPS,
    date_value,
    flag,
    text,
)

ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSENT_DOCUMENT = ("59284-0", "Patient Consent")
GUARANTOR_ROLE = {"coding": [{"system": ROLE_CLASS, "code": "GUAR", "display": "guarantor"}]}
SUBSCRIBER_ROLE = {"coding": [{"system": ROLE_CLASS, "code": "SUBSCR", "display": "subscriber"}]}
EMERGENCY_CONTACT = {"system": systems.CONTACT_RELATIONSHIP, "code": "C", "display": "Emergency Contact"}
# The subscriber's relationship to the patient (v3-RoleCode), from the patient's relationship to the subscriber.
SUBSCRIBER_ROLE_CODE = {"spouse": ("SPS", "spouse"), "child": ("PRN", "parent"), "parent": ("CHILD", "child"),
                        "common": ("DOMPART", "domestic partner")}
# Displays of the subscriber-relationship code system.
RELATIONSHIP_DISPLAY = {"self": "Self", "spouse": "Spouse", "child": "Child", "parent": "Parent",
                        "common": "Common Law Spouse", "other": "Other"}
# What each consent checkbox records.
CONSENT_KINDS = {
    "privacy_notice": ("patient-privacy", "Notice of privacy practices (HIPAA) acknowledged"),
    "consent_to_treat": ("treatment", "Consent to treat"),
}
REMINDERS_RULE = "Appointment reminders"
REMINDER_CHANNELS = {"sms_reminders": ("SMSWRIT", "SMS"), "email_reminders": ("EMAILWRIT", "email")}


def concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def ref(reference: str, display: str | None = None) -> dict:
    return {"reference": reference, **({"display": display} if display else {})}


def mrn_identifier(mrn: str) -> dict:
    return {"use": "usual", "type": concept(systems.IDENTIFIER_TYPE, "MR", "Medical record number"),
            "system": systems.mrn_system(), "value": mrn}


def _telecom(data) -> list[dict]:
    found = []
    if text(data, "phone"):
        found.append({"system": "phone", "value": matching.format_phone(text(data, "phone")),
                      "use": text(data, "phone_use") or "mobile"})
    if text(data, "email"):
        found.append({"system": "email", "value": text(data, "email"), "use": "home"})
    return found


def _address(data) -> list[dict]:
    address = {"use": "home"}
    if text(data, "address_line"):
        address["line"] = [text(data, "address_line")]
    for field, key in (("city", "city"), ("state", "state"), ("postal_code", "postalCode")):
        if text(data, field):
            address[key] = text(data, field).upper() if field == "state" else text(data, field)
    return [address] if len(address) > 1 else []


def _emergency_contacts(data) -> list[dict]:
    if not text(data, "contact_name"):
        return []
    relationship = [{"coding": [EMERGENCY_CONTACT]}]
    if text(data, "contact_relationship"):
        relationship.append({"text": text(data, "contact_relationship")})
    contact = {"relationship": relationship, "name": {"text": text(data, "contact_name")}}
    if text(data, "contact_phone"):
        contact["telecom"] = [{"system": "phone", "value": matching.format_phone(text(data, "contact_phone"))}]
    return [contact]


def is_emergency_contact(contact: dict) -> bool:
    return any(c.get("code") == "C" and c.get("system") == systems.CONTACT_RELATIONSHIP
               for rel in contact.get("relationship") or () for c in rel.get("coding") or ())


def apply_demographics(patient: dict, data, today: date) -> dict:
    """`patient` with what the demographic fields say; everything else it held is kept."""
    updated = dict(patient)
    given = [text(data, "given")] + ([text(data, "middle")] if text(data, "middle") else [])
    official = {"use": "official", "family": text(data, "family"), "given": given}
    updated["name"] = [official] + [n for n in patient.get("name") or () if n.get("use") not in (None, "official")]
    born = date_value(data, "birth_date", today)
    if born:
        updated["birthDate"] = born.isoformat()
    else:
        updated.pop("birthDate", None)
    if text(data, "gender"):
        updated["gender"] = text(data, "gender")
    else:
        updated.pop("gender", None)
    others = [t for t in patient.get("telecom") or () if t.get("system") not in ("phone", "email")]
    telecom = _telecom(data) + others
    _set_or_drop(updated, "telecom", telecom)
    others = [a for a in patient.get("address") or () if a.get("use") not in (None, "home")]
    _set_or_drop(updated, "address", _address(data) + others)
    others = [c for c in patient.get("contact") or () if not is_emergency_contact(c)]
    _set_or_drop(updated, "contact", _emergency_contacts(data) + others)
    return updated


def _set_or_drop(resource: dict, key: str, value: list) -> None:
    if value:
        resource[key] = value
    else:
        resource.pop(key, None)


def new_patient(data, mrn: str, today: date) -> dict:
    return apply_demographics({"resourceType": "Patient", "active": True, "identifier": [mrn_identifier(mrn)]},
                              data, today)


def related_person(patient_id: str, family: str, given: str, roles: list[dict], *, phone: str = "",
                   birth_date: str = "", address: list | None = None, existing: dict | None = None) -> dict:
    person = dict(existing or {"resourceType": "RelatedPerson", "active": True})
    person["patient"] = ref(f"Patient/{patient_id}")
    person["relationship"] = roles
    person["name"] = [{"family": family, "given": [given]}]
    if phone:
        person["telecom"] = [{"system": "phone", "value": matching.format_phone(phone)}]
    if birth_date:
        person["birthDate"] = birth_date
    if address:
        person["address"] = address
    return person


def guarantor(data, patient_id: str) -> dict | None:
    """The guarantor as a RelatedPerson; None when the patient pays their own bills."""
    relationship = text(data, "guarantor") or "self"
    if relationship == "self":
        return None
    personal = concept(systems.RELATED_PERSON_RELATIONSHIP, relationship, GUARANTOR_RELATIONSHIPS[relationship])
    return related_person(patient_id, text(data, "guarantor_family"), text(data, "guarantor_given"),
                          [personal, GUARANTOR_ROLE], phone=text(data, "guarantor_phone"), address=_address(data))


def subscriber(data, order: str, patient_id: str, today: date, existing: dict | None = None) -> dict | None:
    """The policy holder of a coverage as a RelatedPerson; None when it is the patient."""
    relationship = text(data, f"{order}_subscriber_relationship") or "self"
    if relationship == "self":
        return None
    roles = [SUBSCRIBER_ROLE]
    if relationship in SUBSCRIBER_ROLE_CODE:
        roles.insert(0, concept(systems.RELATED_PERSON_RELATIONSHIP, *SUBSCRIBER_ROLE_CODE[relationship]))
    born = date_value(data, f"{order}_subscriber_birth_date", today)
    return related_person(patient_id, text(data, f"{order}_subscriber_family"),
                          text(data, f"{order}_subscriber_given"), roles,
                          birth_date=born.isoformat() if born else "", existing=existing)


def coverage(data, order: str, patient_id: str, subscriber_reference: str, payer_name: str, today: date,
             existing: dict | None = None) -> dict:
    """A Coverage from the `order` (primary, secondary) fields, based on `existing` when editing."""
    member_id = text(data, f"{order}_member_id")
    relationship = text(data, f"{order}_subscriber_relationship") or "self"
    payer = text(data, f"{order}_payer")
    resource = dict(existing or {"resourceType": "Coverage", "period": {"start": today.isoformat()}})
    resource.update({
        "status": "active",
        "identifier": [{"type": concept(systems.IDENTIFIER_TYPE, "MB", "Member Number"),
                        "system": systems.MEMBER_ID, "value": member_id}],
        "subscriber": ref(subscriber_reference),
        "subscriberId": member_id,
        "beneficiary": ref(f"Patient/{patient_id}"),
        "relationship": concept(systems.SUBSCRIBER_RELATIONSHIP, relationship, RELATIONSHIP_DISPLAY[relationship]),
        "payor": [ref(f"Organization/{payer}", payer_name or None)],
        "order": 1 if order == "primary" else 2,
    })
    group = text(data, f"{order}_group_number")
    others = [c for c in resource.get("class") or () if _class_code(c) != "group"]
    if group:
        resource["class"] = [{"type": concept(systems.GROUP_CLASS, "group", "Group"), "value": group}] + others
    else:
        _set_or_drop(resource, "class", others)
    return resource


def _class_code(item: dict) -> str | None:
    codings = (item.get("type") or {}).get("coding") or [{}]
    return codings[0].get("code")


def consents(data, patient_id: str, moment: str) -> list[dict]:
    """Consents from the checkboxes: one per agreement given, and the reminder channels allowed or not."""
    category = [concept(systems.CONSENT_CATEGORY, *CONSENT_DOCUMENT)]
    found = []
    for field, (scope, words) in CONSENT_KINDS.items():
        if flag(data, field):
            found.append({
                "resourceType": "Consent", "status": "active",
                "scope": concept(systems.CONSENT_SCOPE, scope, scope.replace("-", " ").capitalize()),
                "category": category, "patient": ref(f"Patient/{patient_id}"), "dateTime": moment,
                "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}],
                               "text": words},
            })
    channels = []
    for field, (code, words) in REMINDER_CHANNELS.items():
        channels.append({
            "type": "permit" if flag(data, field) else "deny",
            "code": [concept(PARTICIPATION_MODE, code, f"{words} reminders")],
        })
    found.append({
        "resourceType": "Consent", "status": "active",
        "scope": concept(systems.CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": category, "patient": ref(f"Patient/{patient_id}"), "dateTime": moment,
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}],
                       "text": REMINDERS_RULE},
        "provision": {"type": "permit", "provision": channels},
    })
    return found


def is_reminder_consent(resource: dict) -> bool:
    return (resource.get("policyRule") or {}).get("text") == REMINDERS_RULE


def reminder_channels(resource: dict) -> dict[str, bool]:
    """{'sms': bool, 'email': bool} of a reminders Consent."""
    allowed = {}
    for item in (resource.get("provision") or {}).get("provision") or ():
        for code in item.get("code") or ():
            for coding in code.get("coding") or ():
                for field, (mode, _) in REMINDER_CHANNELS.items():
                    if coding.get("code") == mode:
                        allowed[field.split("_")[0]] = item.get("type") == "permit"
    return allowed


# -- reading a chart back into form fields -----------------------------------------------------


def official_name(patient: dict) -> dict:
    names = patient.get("name") or [{}]
    return next((n for n in names if n.get("use") == "official"), names[0])


def display_name(resource: dict) -> str:
    name = official_name(resource)
    if name.get("text") and not name.get("family"):
        return name["text"]
    return " ".join([*(name.get("given") or ()), name.get("family") or ""]).strip() or "(no name)"


def mrn_of(patient: dict) -> str | None:
    for identifier in patient.get("identifier") or ():
        if identifier.get("system") == systems.mrn_system() and identifier.get("use") != "old":
            return identifier.get("value")
    return None


def telecom_value(resource: dict, system: str) -> str | None:
    for item in resource.get("telecom") or ():
        if item.get("system") == system and item.get("value"):
            return item["value"]
    return None


def fields_of_chart(patient: dict, coverages: list[dict], related: dict[str, dict]) -> dict:
    """The edit form's initial values from a stored Patient, its Coverages and RelatedPersons (by reference)."""
    name = official_name(patient)
    given = name.get("given") or [""]
    fields = {"family": name.get("family", ""), "given": given[0], "middle": " ".join(given[1:]),
              "birth_date": patient.get("birthDate", ""), "gender": patient.get("gender", ""),
              "phone": telecom_value(patient, "phone") or "", "email": telecom_value(patient, "email") or ""}
    phone = next((t for t in patient.get("telecom") or () if t.get("system") == "phone"), {})
    fields["phone_use"] = phone.get("use", "mobile") if phone.get("use") in ("mobile", "home", "work") else "mobile"
    address = next((a for a in patient.get("address") or () if a.get("use") in (None, "home")), {})
    fields.update({"address_line": (address.get("line") or [""])[0], "city": address.get("city", ""),
                   "state": address.get("state", ""), "postal_code": address.get("postalCode", "")})
    contact = next((c for c in patient.get("contact") or () if is_emergency_contact(c)), None)
    if contact:
        fields["contact_name"] = (contact.get("name") or {}).get("text", "")
        fields["contact_relationship"] = next((r.get("text") for r in contact.get("relationship") or ()
                                               if r.get("text") and not r.get("coding")), "")
        fields["contact_phone"] = telecom_value(contact, "phone") or ""
    for item in active_by_order(coverages).items():
        order, resource = item
        fields.update(coverage_fields_of(order, resource, related))
    return fields


def active_by_order(coverages: list[dict]) -> dict[str, dict]:
    """The active primary and secondary Coverage of a patient (by `order`, else in the order given)."""
    active = [c for c in coverages if c.get("status") == "active"]
    active.sort(key=lambda c: c.get("order") or 99)
    found = {}
    for resource in active:
        wanted = {1: "primary", 2: "secondary"}.get(resource.get("order"))
        slot = wanted if wanted and wanted not in found else next(
            (o for o in ("primary", "secondary") if o not in found), None)
        if slot:
            found[slot] = resource
    return found


def coverage_fields_of(order: str, resource: dict, related: dict[str, dict]) -> dict:
    relationship = ((resource.get("relationship") or {}).get("coding") or [{}])[0].get("code", "self")
    fields = {
        f"{order}_payer": ((resource.get("payor") or [{}])[0].get("reference") or "").split("/")[-1],
        f"{order}_member_id": resource.get("subscriberId") or next(
            (i.get("value") for i in resource.get("identifier") or () if i.get("system") == systems.MEMBER_ID), ""),
        f"{order}_group_number": next((c.get("value") for c in resource.get("class") or ()
                                       if _class_code(c) == "group"), ""),
        f"{order}_subscriber_relationship": relationship if relationship in SUBSCRIBER_RELATIONSHIPS else "other",
    }
    holder = related.get((resource.get("subscriber") or {}).get("reference", ""))
    if holder and relationship != "self":
        name = (holder.get("name") or [{}])[0]
        fields.update({f"{order}_subscriber_family": name.get("family", ""),
                       f"{order}_subscriber_given": (name.get("given") or [""])[0],
                       f"{order}_subscriber_birth_date": holder.get("birthDate", "")})
    return fields

