"""Reminder texts: the placeholders a rule's template may use, checking a template, filling it in.

Templates use `{name}` placeholders (`{{` and `}}` for literal braces). An SMS always ends by
telling the patient how to answer, so a reply can confirm or cancel.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from mederi.core.errors import InvalidRequest

PLACEHOLDERS = {
    "patient_first_name": "the patient's first name",
    "date": "the appointment's day, e.g. Tuesday, March 3, 2026",
    "time": "the appointment's time, e.g. 9:30 AM",
    "provider": "the clinician, e.g. Dr. Ana Ruiz",
    "location": "the clinic, e.g. Riverside main clinic",
}
REPLY_INSTRUCTIONS = "Reply C to confirm, X to cancel."
EMAIL_SUBJECT = "Appointment reminder: {date} at {time}"
MAX_LENGTH = {"sms": 1000, "voice": 1000, "email": 10000}

DEFAULT_TEMPLATES = {
    "email": ("Dear {patient_first_name},\n\nThis is a reminder of your appointment with {provider} on {date} "
              "at {time} at {location}.\n\nIf you cannot come, please call us so we can offer the time to "
              "someone else.\n"),
    "sms": "Hi {patient_first_name}, reminder: {provider} on {date} at {time}, {location}. " + REPLY_INSTRUCTIONS,
    "voice": ("Hello {patient_first_name}. This is a reminder of your appointment with {provider} on {date} "
              "at {time} at {location}. If you cannot come, please call us."),
}


@dataclass(frozen=True)
class AppointmentFacts:
    """What a reminder may say about an appointment, already in words."""

    patient_first_name: str
    date: str
    time: str
    provider: str
    location: str

    def values(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in PLACEHOLDERS}


def check_template(template: str, channel: str) -> None:
    """Raise InvalidRequest (expression "template") saying what is wrong with a rule's text."""
    text = (template or "").strip()
    if not text:
        raise InvalidRequest.single("write the text of the reminder", code="required", expression="template")
    limit = MAX_LENGTH.get(channel, 1000)
    if len(text) > limit:
        raise InvalidRequest.single(f"the text is {len(text)} characters long; a reminder by {channel} may have "
                                    f"at most {limit}", expression="template")
    try:
        fields = [(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(text)
                  if field is not None]
    except ValueError:
        raise InvalidRequest.single("a brace is not closed: write placeholders as {date}, and a literal brace "
                                    "as {{ or }}", expression="template") from None
    for field, spec, conversion in fields:
        if field not in PLACEHOLDERS or spec or conversion:
            known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise InvalidRequest.single(f"{shown} is not a placeholder; use {known}", expression="template")


def render(template: str, facts: AppointmentFacts, channel: str) -> str:
    text = template.strip().format_map(facts.values())
    if channel == "sms" and "c to confirm" not in text.lower():
        text = f"{text} {REPLY_INSTRUCTIONS}"
    return text


def subject(facts: AppointmentFacts) -> str:
    return EMAIL_SUBJECT.format_map(facts.values())
