"""Demo conversations with the front-desk agent, on the demo practice's patients and appointments.

María Núñez asks by text to move tomorrow's visit to an afternoon and picks the second time offered;
Samir Haddad asks for a refill by email (a Task in the refills queue); Grace Okonkwo asks the
Saturday hours by text; Peter Chalmers writes in Spanish through the portal and is handed to a person.
They show on /ai/agent/ (Patient messages). Run again, it adds nothing: each demo patient who already
has a conversation is left as is.
"""

from __future__ import annotations

from datetime import date

from mederi.ai.agent import services
from mederi.ai.agent.models import Conversation
from mederi.core.errors import MederiError

CONVERSATIONS = (  # patient, channel, address, messages in order
    ("demo-pat-2", "sms", "+12175550111", ("Can I move my appointment to an afternoon?", "2")),
    ("demo-pat-5", "email", "samir.haddad@example.com", ("I need a refill of my atorvastatin, 3 pills left.",)),
    ("demo-pat-3", "sms", "+12175550112", ("are you open on saturday?",)),
    ("demo-pat-1", "portal", "", ("Hola, necesito cambiar mi cita por favor",)),
)


def load_demo(today: date) -> str:
    held = 0
    for patient_id, channel, address, messages in CONVERSATIONS:
        if Conversation.objects.filter(patient_id=patient_id, channel=channel).exists():
            continue
        try:
            for text in messages:
                services.handle_message(channel, text, patient_id=patient_id, address=address)
        except MederiError as problem:  # a demo day without the appointment: say so, load the rest
            return f"front-desk agent demo stopped at {patient_id}: {problem}"
        held += 1
    return f"front-desk agent: {held} demo conversations (Patient messages, /ai/agent/)"
