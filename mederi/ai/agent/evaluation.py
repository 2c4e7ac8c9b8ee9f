"""Measuring the agent on its held-out test set (testset/messages.jsonl), end to end.

Each message goes, in a fresh conversation, through `services.handle_message` for a patient with a
booked follow-up ahead, in a small practice (one doctor with weekday hours, one clinic with hours
and an address). Intent accuracy compares the engine's intent with the expected one; outcome
accuracy compares what the agent did (confirmed, asked to cancel, offered slots, noted late, answered,
queued a Task, handed over) with the expected outcome. benchmarks/eval_agent.py prints the figures;
docs/performance.md records them, and a test checks the record against a fresh run.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from mederi.core import clock
from mederi.core.context import Context
from mederi.fhir.repository import Repository

TESTSET = Path(__file__).with_name("testset") / "messages.jsonl"
PATIENT, DOCTOR, CLINIC = "eval-pat", "eval-dr", "eval-clinic"
CLINIC_RESOURCE = {
    "resourceType": "Location", "id": CLINIC, "status": "active", "name": "Riverside main clinic",
    "description": "Free parking behind the building; enter from Mill Street.",
    "address": {"line": ["12 River Road"], "city": "Springfield", "state": "IL", "postalCode": "62701"},
    "hoursOfOperation": [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri"], "openingTime": "08:00:00",
                          "closingTime": "17:00:00"},
                         {"daysOfWeek": ["sat"], "openingTime": "09:00:00", "closingTime": "12:00:00"}],
}


def load_testset(path: Path = TESTSET) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def make_practice() -> str:
    """The evaluation's practice; returns the id of the patient's booked appointment (three days ahead, 9:00)."""
    from mederi.scheduling import practice_time
    from mederi.scheduling import services as scheduling

    system = Context.system("ai-agent-evaluation")
    repo = Repository(system)
    repo.update("Location", CLINIC, CLINIC_RESOURCE)
    repo.update("Practitioner", DOCTOR, {"resourceType": "Practitioner", "id": DOCTOR, "active": True,
                                         "name": [{"family": "Ruiz", "given": ["Ana"], "prefix": ["Dr."]}]})
    repo.update("Patient", PATIENT, {"resourceType": "Patient", "id": PATIENT, "active": True,
                                     "name": [{"use": "official", "family": "Lopez", "given": ["Maria"]}],
                                     "telecom": [{"system": "phone", "value": "+15551230001", "use": "mobile"},
                                                 {"system": "email", "value": "maria.lopez@example.org"}],
                                     "birthDate": "1980-04-01", "gender": "female"})
    scheduling.save_appointment_type(system, "follow-up", "Follow-up", 20)
    for weekday in range(5):
        scheduling.add_weekly_hours(system, DOCTOR, CLINIC, weekday, time(8), time(12))
    day = practice_time.today() + timedelta(days=3)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return scheduling.book_appointment(system, PATIENT, DOCTOR, CLINIC, datetime.combine(day, time(9)), "follow-up")


@dataclass
class Result:
    rows: list[dict] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return sum(r["intent"] == r["expected_intent"] for r in self.rows) / len(self.rows)

    @property
    def outcome_accuracy(self) -> float:
        return sum(r["outcome"] == r["expected_outcome"] for r in self.rows) / len(self.rows)

    def by_intent(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in self.rows:
            counts[row["expected_intent"]][0] += row["intent"] == row["expected_intent"]
            counts[row["expected_intent"]][1] += 1
        return {intent: (right, total) for intent, (right, total) in sorted(counts.items())}

    def confusions(self) -> Counter:
        return Counter((r["expected_intent"], r["intent"]) for r in self.rows if r["intent"] != r["expected_intent"])


def run(messages: list[dict] | None = None, engine=None) -> Result:
    """Every message end to end, each in a fresh conversation of the evaluation patient."""
    from mederi.ai.agent import services
    from mederi.ai.agent.engines import OfflineIntentEngine
    from mederi.ai.agent.models import Conversation

    engine = engine or OfflineIntentEngine()
    messages = load_testset() if messages is None else messages
    result = Result()
    for message in messages:
        Conversation.objects.filter(patient_id=PATIENT).delete()
        started = clock.now()
        reply = services.handle_message(message["channel"], message["message"], patient_id=PATIENT, engine=engine)
        result.rows.append({**{f"expected_{k}": message[k] for k in ("intent", "outcome")},
                            "message": message["message"], "channel": message["channel"], "intent": reply.intent,
                            "outcome": reply.outcome, "answer": reply.answer or "",
                            "seconds": (clock.now() - started).total_seconds()})
    return result
