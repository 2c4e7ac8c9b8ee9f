"""Which channels reach a patient: the numbers and addresses on file, and what the patient agreed to."""

from datetime import datetime, timezone

import pytest

from mederi.core import systems
from mederi.scheduling.reminders.preferences import (
    REMINDER_CONSENT,
    addresses,
    consent_decisions,
    normalize_phone,
    reachability,
)

from .conftest import make_patient, system_repo

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("written, normal", [
    ("(555) 123-0001", "+15551230001"),
    ("555.123.0001", "+15551230001"),
    ("1-555-123-0001", "+15551230001"),
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    ("555-0110", "5550110"),
    ("", ""),
    ("n/a", ""),
])
def test_phone_numbers_are_spelled_one_way(written, normal):
    assert normalize_phone(written) == normal


def test_sms_needs_a_mobile_voice_any_phone_email_an_address():
    patient = {"telecom": [{"system": "phone", "value": "555-123-0009", "use": "home"},
                           {"system": "email", "value": "maria@example.org"}]}
    found = addresses(patient, NOW)
    assert found["sms"] == ("", "no mobile phone number on file")
    assert found["voice"] == ("+15551230009", "")
    assert found["email"] == ("maria@example.org", "")
    assert addresses({}, NOW)["email"] == ("", "no email address on file")


def test_old_and_ended_numbers_do_not_count_and_rank_decides():
    patient = {"telecom": [
        {"system": "phone", "value": "555-000-0001", "use": "mobile", "period": {"end": "2025-12-31"}},
        {"system": "phone", "value": "555-000-0002", "use": "old"},
        {"system": "phone", "value": "555-000-0003", "use": "mobile", "rank": 2},
        {"system": "sms", "value": "555-000-0004", "rank": 1},
    ]}
    assert addresses(patient, NOW)["sms"] == ("+15550000004", "")
    assert addresses(patient, NOW)["voice"] == ("+15550000004", "")


def consent(consent_id, provision, status="active", when="2026-01-10T10:00:00Z", policy="Patient preferences"):
    return {"resourceType": "Consent", "id": consent_id, "status": status, "dateTime": when,
            "scope": {"coding": [{"system": systems.CONSENT_SCOPE, "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": "Patient/pat-1"}, "policyRule": {"text": policy}, "provision": provision}


def test_consents_in_words_or_codes_say_which_channels_are_refused():
    decisions = consent_decisions([
        consent("c1", {"type": "permit", "code": [{"text": "may send SMS/email reminders"}]}),
        consent("c2", {"type": "deny", "action": [{"text": "no text messages"}]}, when="2026-02-01T10:00:00Z"),
    ])
    assert decisions["sms"] == ("deny", "Consent/c2 of 2026-02-01")
    assert decisions["email"] == ("permit", "Consent/c1 of 2026-01-10")
    assert "voice" not in decisions
    coded = consent_decisions([consent("c3", {"type": "deny", "code": [
        {"coding": [{"system": REMINDER_CONSENT, "code": "reminders-voice"}]}]})])
    assert coded == {"voice": ("deny", "Consent/c3 of 2026-01-10")}
    everything = consent_decisions([consent("c4", {"type": "deny", "code": [{"text": "no reminders"}]})])
    assert set(everything) == {"sms", "email", "voice"}


def test_the_newest_word_wins_and_unrelated_or_withdrawn_consents_say_nothing():
    decisions = consent_decisions([
        consent("new", {"type": "permit", "code": [{"text": "may text reminders"}]}, when="2026-02-01T00:00:00Z"),
        consent("old", {"type": "deny", "code": [{"text": "no texts"}]}, when="2025-02-01T00:00:00Z"),
        consent("hipaa", {"type": "deny", "code": [{"text": "share records with insurers"}]},
                policy="HIPAA notice acknowledged"),
        consent("gone", {"type": "deny", "code": [{"text": "no email"}]}, status="inactive"),
    ])
    assert decisions == {"sms": ("permit", "Consent/new of 2026-02-01")}
    rejected = consent_decisions([consent("r", {"type": "permit", "code": [{"text": "may email reminders"}]},
                                          status="rejected")])
    assert rejected == {"email": ("deny", "Consent/r of 2026-01-10")}
    nested = consent_decisions([consent("n", {"type": "permit", "code": [{"text": "reminders"}],
                                              "provision": [{"type": "deny", "code": [{"text": "sms"}]}]})])
    assert nested["sms"][0] == "deny" and nested["email"][0] == "permit"


def test_a_refusal_in_the_record_makes_the_channel_impossible(db):
    make_patient("pat-1")
    system_repo().create(consent("refuse-sms", {"type": "deny", "code": [{"text": "may not send SMS reminders"}]}))
    reach = reachability(system_repo(), "pat-1")
    assert not reach["sms"].possible
    assert reach["sms"].reason.startswith("the patient declined reminders by text message (Consent/")
    assert reach["email"].possible and reach["email"].address == "maria@example.org"


def test_nobody_reminds_a_deceased_patient(db):
    make_patient("pat-1")
    repo = system_repo()
    patient = repo.read("Patient", "pat-1").as_dict()
    repo.update("Patient", "pat-1", {**patient, "deceasedBoolean": True})
    reach = reachability(repo, "pat-1")
    assert {r.reason for r in reach.values()} == {"the patient is recorded as deceased"}
