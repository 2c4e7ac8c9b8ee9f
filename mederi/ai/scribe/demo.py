"""The demo practice's scribe draft: María Núñez's visit (in a room, note in progress) has a ready
draft made from a written demo conversation, so a newcomer can accept its parts without a microphone.

The demo has no recording: the draft's Provenance names the demo transcript (by its SHA-256) where a
real one names the audio. Loading again adds nothing."""

from __future__ import annotations

import hashlib
from datetime import date

from django.db import transaction

from mederi.ai.scribe import drafting, services
from mederi.ai.scribe.models import Recording
from mederi.clinical.notes import encounters
from mederi.clinical.notes.demo import _first_working_day
from mederi.core import clock
from mederi.core.context import Context
from mederi.fhir.repository import Repository

CONVERSATION = [
    ("doctor", "Hi María, what brings you in today?"),
    ("patient", "I have had a sore throat for three days and it hurts to swallow."),
    ("doctor", "Any fever or cough?"),
    ("patient", "No fever. A mild cough at night."),
    ("doctor", "Are you allergic to any medicines?"),
    ("patient", "Yes, I am allergic to penicillin. It gives me hives."),
    ("doctor", "Your temperature is 37.2 and your heart rate is 88. Let me take a look. Your throat is red "
               "and the tonsils are swollen."),
    ("doctor", "I think this is acute pharyngitis. We will do a rapid strep test today, and you can take "
               "ibuprofen 400 mg for the pain."),
    ("patient", "Okay, thank you."),
]


def load_demo(today: date) -> str:
    repo = Repository(Context.system("demo"))
    appointment_id = f"demo-appt-{_first_working_day(today):%Y%m%d}-0-0930-ruiz"
    encounter = encounters.encounter_of_appointment(repo, appointment_id)
    if encounter is None or encounter.get("status") != "in-progress":
        return ""
    if Recording.objects.filter(encounter_id=encounter["id"]).exists():
        return f"AI scribe: a draft for Encounter/{encounter['id']} (loaded before)"
    transcript = services.transcript_text([{"speaker": s, "text": t} for s, t in CONVERSATION])
    draft = drafting.draft_note(CONVERSATION)
    with transaction.atomic():
        recording = Recording.objects.create(
            patient_id=encounter["subject"]["reference"].removeprefix("Patient/"), encounter_id=encounter["id"],
            started_by="drruiz", created_at=clock.now(), audio_sha256=hashlib.sha256(transcript.encode()).hexdigest(),
            audio_type="demo transcript (no recording)", audio_seconds=0,
            turns=[{"speaker": s, "text": t, "start": 0, "end": 0} for s, t in CONVERSATION])
        services.keep_draft(recording, draft)
        recording.status, recording.progress = Recording.READY, 100
        recording.save()
    return (f"AI scribe: a draft for María Núñez's visit with {len(draft.findings)} suggestions to accept "
            f"(/ai/scribe/recordings/{recording.pk}/)")
