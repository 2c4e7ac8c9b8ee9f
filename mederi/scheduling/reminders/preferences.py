"""Whether, and where, a patient can be reached by each channel.

From the Patient: SMS needs a mobile number (telecom phone with use "mobile", or system "sms"),
a voice call any phone number, email an email address; numbers marked "old" or whose period has
ended do not count, and a patient recorded as deceased gets nothing. From the patient's Consents:
an active (or rejected) Consent about reminders or contact by a channel whose provision is "deny"
is an explicit refusal, and the newest Consent about a channel wins. With no Consent about it, a
channel with an address on file may be used.

A Consent is about reminders when its provision's codes, actions or purposes, or its policyRule,
name them: coded with REMINDER_CONSENT codes (reminders-sms, reminders-email, reminders-voice,
reminders), or in words such as "may send SMS/email reminders" or "no text messages".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from mederi.core import clock
from mederi.fhir.repository import Repository
from mederi.scheduling.reminders.models import EMAIL, SMS, VOICE
from mederi.scheduling.reminders.timing import parse_instant

REMINDER_CONSENT = "urn:mederi:reminder-consent"  # provision codes: reminders, reminders-sms, -email, -voice
CHANNEL_WORDS = {
    SMS: re.compile(r"\b(sms|texts?|text messages?|texting)\b"),
    EMAIL: re.compile(r"\b(e-?mails?)\b"),
    VOICE: re.compile(r"\b(voice|calls?|phone calls?|telephone)\b"),
}
ABOUT_CONTACT = re.compile(r"\b(remind\w*|contact\w*|communicat\w*|messag\w*|notif\w*|sms|texts?|e-?mails?|"
                           r"calls?)\b")


@dataclass(frozen=True)
class Reach:
    """How one channel reaches the patient: an address, or the reason it cannot."""

    channel: str
    address: str = ""
    reason: str = ""

    @property
    def possible(self) -> bool:
        return bool(self.address) and not self.reason


def normalize_phone(text: str | None) -> str:
    """A phone number in one spelling, so a reply's sender can be matched to what was sent.

    North American 10- and 11-digit numbers become E.164 (+1...); numbers written with + keep it;
    anything else keeps its digits (the provider says whether it can dial them). "" if no digits.
    """
    if not text:
        return ""
    digits = re.sub(r"\D", "", text)
    if not digits:
        return ""
    if text.strip().startswith("+"):
        return "+" + digits
    if text.strip().startswith("00") and len(digits) > 10:
        return "+" + digits[2:]
    country = str(getattr(settings, "MEDERI_DEFAULT_COUNTRY_CODE", "1"))
    if country == "1" and len(digits) == 10:
        return "+1" + digits
    if country == "1" and len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return digits


def _current(point: dict, now: datetime) -> bool:
    if not point.get("value") or point.get("use") == "old":
        return False
    end = (point.get("period") or {}).get("end")
    if not end:
        return True
    if "T" in end:
        moment = parse_instant(end)
        return moment is None or moment >= now
    return end >= now.date().isoformat()[: len(end)]  # a date, year-month or year: compared as text


def _ranked(points: list[dict]) -> list[dict]:
    return sorted(points, key=lambda p: p.get("rank") or 1_000_000)


def addresses(patient: dict, now: datetime | None = None) -> dict[str, tuple[str, str]]:
    """{channel: (address, reason)} from Patient.telecom alone."""
    now = now or clock.now()
    telecom = [p for p in patient.get("telecom") or [] if isinstance(p, dict) and _current(p, now)]
    mobiles = _ranked([p for p in telecom if p.get("system") == "sms"
                       or (p.get("system") == "phone" and p.get("use") == "mobile")])
    phones = _ranked([p for p in telecom if p.get("system") == "phone"])
    phones = mobiles + [p for p in phones if p not in mobiles]  # a mobile answers a voice call too
    emails = _ranked([p for p in telecom if p.get("system") == "email" and "@" in str(p.get("value"))])
    found = {}
    number = normalize_phone(mobiles[0]["value"]) if mobiles else ""
    found[SMS] = (number, "" if number else "no mobile phone number on file")
    number = normalize_phone(phones[0]["value"]) if phones else ""
    found[VOICE] = (number, "" if number else "no phone number on file")
    email = str(emails[0]["value"]).strip() if emails else ""
    found[EMAIL] = (email, "" if email else "no email address on file")
    return found


def _texts(provision: dict) -> list[str]:
    texts = []
    for key in ("code", "action"):
        for concept in provision.get(key) or []:
            texts.append(concept.get("text") or "")
            for coding in concept.get("coding") or []:
                texts += [coding.get("code") or "", coding.get("display") or ""]
    for coding in provision.get("purpose") or []:
        texts += [coding.get("code") or "", coding.get("display") or ""]
    return [t for t in texts if t]


def _coded_channels(provision: dict) -> set[str]:
    channels = set()
    for key in ("code", "action"):
        for concept in provision.get(key) or []:
            for coding in concept.get("coding") or []:
                code = coding.get("code") or ""
                if coding.get("system") != REMINDER_CONSENT:
                    continue
                if code == "reminders":
                    channels |= {SMS, EMAIL, VOICE}
                elif code.removeprefix("reminders-") in (SMS, EMAIL, VOICE):
                    channels.add(code.removeprefix("reminders-"))
    return channels


def _channels_named(texts: list[str]) -> set[str]:
    """The channels some words are about; all of them for words about reminders or contact in general."""
    words = " ".join(texts).lower()
    if not ABOUT_CONTACT.search(words):
        return set()
    named = {channel for channel, pattern in CHANNEL_WORDS.items() if pattern.search(words)}
    return named or {SMS, EMAIL, VOICE}


def _decisions(provision: dict, inherited: list[str], decisions: list[tuple[str, str]]) -> None:
    """(channel, permit|deny) for a provision and its nested provisions, innermost last."""
    texts = inherited + _texts(provision)
    channels = _coded_channels(provision) or _channels_named(texts)
    kind = provision.get("type")
    if kind in ("permit", "deny"):
        decisions += [(channel, kind) for channel in sorted(channels)]
    for nested in provision.get("provision") or []:
        _decisions(nested, texts, decisions)


def consent_decisions(consents: list[dict]) -> dict[str, tuple[str, str]]:
    """{channel: ("permit"|"deny", "Consent/<id> of <date>")}: the newest word of the patient on each channel."""
    dated = sorted(consents, key=lambda c: (c.get("dateTime") or "", (c.get("meta") or {}).get("lastUpdated") or ""))
    result: dict[str, tuple[str, str]] = {}
    for consent in dated:
        if consent.get("status") not in ("active", "rejected"):
            continue
        policy = [(consent.get("policyRule") or {}).get("text") or ""]
        policy += [c.get("display") or "" for c in (consent.get("policyRule") or {}).get("coding") or []]
        decisions: list[tuple[str, str]] = []
        provision = consent.get("provision") or {}
        _decisions(provision, [t for t in policy if t], decisions)
        if not provision and consent.get("status") == "rejected":
            decisions += [(channel, "deny") for channel in sorted(_channels_named(policy))]
        when = (consent.get("dateTime") or "")[:10]
        source = f"Consent/{consent.get('id')}" + (f" of {when}" if when else "")
        for channel, kind in decisions:
            # A rejected consent to be reminded is a refusal, whatever its provision says.
            result[channel] = ("deny" if consent.get("status") == "rejected" else kind, source)
    return result


def reachability(repo: Repository, patient_id: str) -> dict[str, Reach]:
    """{channel: Reach} for a patient, read through `repo` (Patient and its Consents)."""
    patient = repo.read("Patient", patient_id).as_dict()
    if patient.get("deceasedBoolean") or patient.get("deceasedDateTime"):
        return {channel: Reach(channel, reason="the patient is recorded as deceased") for channel in (SMS, EMAIL, VOICE)}
    found = addresses(patient)
    result = repo.search("Consent", [("patient", f"Patient/{patient_id}"), ("_count", "200")])
    decisions = consent_decisions([stored.as_dict() for stored in result.matches])
    reach = {}
    for channel, (address, reason) in found.items():
        kind, source = decisions.get(channel, ("", ""))
        if kind == "deny":
            words = {SMS: "text message", EMAIL: "email", VOICE: "phone call"}[channel]
            reason = f"the patient declined reminders by {words} ({source})"
        reach[channel] = Reach(channel, address, reason)
    return reach
