"""The demo practice shows the agent's four kinds of work on /ai/agent/, and loading it again adds nothing."""

import pytest

from mederi.ai.agent.models import Conversation, Turn
from mederi.demo import load_demo


@pytest.mark.django_db
def test_the_demo_has_a_reschedule_a_refill_an_hours_answer_and_a_hand_over():
    load_demo()
    load_demo()  # safe to run again

    outcomes = {c.patient_id: [t.outcome for t in c.turns.filter(speaker=Turn.PATIENT)]
                for c in Conversation.objects.all()}
    assert outcomes == {"demo-pat-2": ["slots-offered", "rescheduled"], "demo-pat-5": ["task:refills"],
                        "demo-pat-3": ["answered"], "demo-pat-1": ["handed-over"]}
    hours = Turn.objects.get(conversation__patient_id="demo-pat-3", speaker=Turn.AGENT).text
    assert hours == "Riverside main clinic: Mon-Fri 8 AM-5 PM. Closed on Saturdays."
    assert "Spanish" in Conversation.objects.get(patient_id="demo-pat-1").handover_reason
