"""Preventive care where clinicians see it: CDS Hooks `patient-view` cards, the chart's care gaps
and the small "due" count on the appointment page."""

from __future__ import annotations

import uuid

from mederi.clinical.cds import registry
from mederi.clinical.preventive import engine
from mederi.clinical.preventive.record import read_record
from mederi.core import clock
from mederi.core.context import Context

SOURCE = {"label": "Mederi preventive care (USPSTF recommendations, CDC adult immunization schedule)"}
TOPIC_SYSTEM = "urn:mederi:preventive-rule"


def results_for(context: Context, patient_id: str, shown: list[str] | None = None) -> list[engine.Result]:
    """Every rule's result for the patient today (practice clock)."""
    from mederi.scheduling import practice_time

    record = read_record(context, patient_id, shown)
    return engine.evaluate_all(record, clock.now().astimezone(practice_time.zone()).date())


def _detail(result: engine.Result, markdown: bool) -> str:
    strong = "**" if markdown else ""
    parts = [f"{strong}Why:{strong} {result.reason}", f"{strong}What to do:{strong} {result.todo}"]
    source = f"Source: {result.rule.citation}."
    return ("\n\n".join(parts) + f"\n\n*{source}*") if markdown else " ".join(parts + [source])


def card_for(result: engine.Result) -> dict:
    return {
        "uuid": str(uuid.uuid4()),
        "summary": result.summary[:140],
        "detail": _detail(result, markdown=True),
        "indicator": "warning" if result.status == engine.OVERDUE else "info",
        "source": {**SOURCE, "topic": {"system": TOPIC_SYSTEM, "code": result.rule.id, "display": result.rule.title}},
    }


def patient_view_cards(call: registry.HookCall) -> list[dict]:
    """Cards for what is due or overdue, read as the caller (authorized and audited)."""
    return [card_for(r) for r in results_for(call.repository.context, call.patient_id) if r.needs_action]


registry.add_patient_view_cards(patient_view_cards)


def care_gaps(context: Context, patient_id: str, shown: list[str] | None = None) -> list[dict]:
    """The chart's care gaps: what is due or overdue, with why and what to do in plain text."""
    return [{"summary": r.summary, "detail": _detail(r, markdown=False), "indicator": r.status, "rule": r.rule.id}
            for r in results_for(context, patient_id, shown) if r.needs_action]


def due_count(context: Context, patient_id: str) -> int:
    return sum(1 for r in results_for(context, patient_id) if r.needs_action)
