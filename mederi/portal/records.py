"""The FHIR shapes the patient-facing pages read and write, in one place.

- The practice's pre-visit questionnaire is the active Questionnaire whose `url` is `PREVISIT_URL`.
- A patient's answers are a QuestionnaireResponse: status completed, `questionnaire` the canonical
  url|version, subject and source the Patient, and the visit it was asked for in the extension
  `APPOINTMENT_EXTENSION` (valueReference Appointment/<id>).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mederi.core import clock
from mederi.scheduling import practice_time

PREVISIT_URL = "urn:mederi:questionnaire:previsit"
APPOINTMENT_EXTENSION = "urn:mederi:appointment"
# Visits that will not happen: no questionnaire link is given for them, and one given stops working.
CLOSED_STATUSES = frozenset({"cancelled", "noshow", "entered-in-error"})


def patient_of_appointment(appointment: dict) -> str | None:
    for participant in appointment.get("participant") or ():
        reference = ((participant or {}).get("actor") or {}).get("reference") or ""
        if reference.startswith("Patient/"):
            return reference.removeprefix("Patient/")
    return None


def appointment_start(appointment: dict) -> datetime | None:
    start = appointment.get("start")
    if not start:
        return None
    try:
        return practice_time.parse_instant(start)
    except ValueError:
        return None


def patient_when(start: datetime | None) -> str:
    """"Fri 6 Mar 2026 at 9:00 AM", in the practice's time zone, as a patient reads it."""
    if start is None:
        return ""
    local = practice_time.to_local(start)
    hour = local.hour % 12 or 12
    return f"{practice_time.day_text(local.date())} at {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def staff_when(start: datetime | None) -> str:
    """"Fri 6 Mar 2026 09:00" (practice time, 24-hour clock, as the schedule shows it)."""
    if start is None:
        return ""
    return f"{practice_time.day_text(practice_time.local_day(start))} {practice_time.clock_text(start)}"


def until_when(moment: datetime) -> str:
    """When a link stops working, for staff: "the end of Fri 6 Mar 2026" at a local midnight."""
    local = practice_time.to_local(moment)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        day = local.date() - timedelta(days=1)
        return f"the end of {practice_time.day_text(day)}"
    return staff_when(moment)


def first_name(patient: dict) -> str:
    """The first given name, preferring the name the patient uses; "" when there is none."""
    names = [n for n in patient.get("name") or () if isinstance(n, dict)]
    names.sort(key=lambda n: {"usual": 0, "official": 1}.get(n.get("use"), 2))
    for name in names:
        given = [g for g in name.get("given") or () if isinstance(g, str) and g.strip()]
        if given:
            return given[0].strip()
    return ""


def full_name(patient: dict) -> str:
    for name in patient.get("name") or ():
        if isinstance(name, dict):
            if name.get("text"):
                return name["text"]
            parts = [*(name.get("given") or ()), name.get("family") or ""]
            text = " ".join(p for p in parts if isinstance(p, str) and p).strip()
            if text:
                return text
    return f"Patient/{patient.get('id')}"


def canonical(questionnaire: dict) -> str:
    """How a response names its questionnaire: url|version (the url alone without a version)."""
    url = questionnaire.get("url") or f"Questionnaire/{questionnaire['id']}"
    return f"{url}|{questionnaire['version']}" if questionnaire.get("version") else url


def questionnaire_response(*, questionnaire: dict, patient_id: str, appointment_id: str, items: list[dict],
                           authored: datetime | None = None) -> dict:
    """The QuestionnaireResponse of a patient's answers to `questionnaire` before `appointment_id`."""
    resource = {
        "resourceType": "QuestionnaireResponse",
        "extension": [{"url": APPOINTMENT_EXTENSION, "valueReference": {"reference": f"Appointment/{appointment_id}"}}],
        "questionnaire": canonical(questionnaire),
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": clock.fhir_instant(authored or clock.now()),
        "source": {"reference": f"Patient/{patient_id}"},
    }
    if items:
        resource["item"] = items
    return resource


def appointment_of_response(response: dict) -> str | None:
    for extension in response.get("extension") or ():
        if extension.get("url") == APPOINTMENT_EXTENSION:
            reference = (extension.get("valueReference") or {}).get("reference") or ""
            if reference.startswith("Appointment/"):
                return reference.removeprefix("Appointment/")
    return None
