"""The CDS services this server offers, in one small registry.

A service is an id, the hook it answers, its prefetch templates and a handler that turns a
checked request into cards. Other apps add services with `register`, or add cards to the
`patient-view` service with `add_patient_view_cards` (preventive care reminders, for example).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class HookCall:
    """A checked hook request: who asks, about which patient and visit, with what context."""

    service_id: str
    hook: str
    hook_instance: str
    patient_id: str
    encounter_id: str
    context: dict
    prefetch: dict
    repository: object  # mederi.fhir.repository.Repository acting as the caller
    user_id: int | None = None


@dataclass
class Service:
    id: str
    hook: str
    title: str
    description: str
    handler: Callable[[HookCall], list[dict]]
    prefetch: dict[str, str] = field(default_factory=dict)

    def discovery(self) -> dict:
        entry = {"hook": self.hook, "id": self.id, "title": self.title, "description": self.description}
        if self.prefetch:
            entry["prefetch"] = dict(self.prefetch)
        return entry


SERVICES: dict[str, Service] = {}
PATIENT_VIEW_CARD_MAKERS: list[Callable[[HookCall], list[dict]]] = []


def register(service: Service) -> Service:
    SERVICES[service.id] = service
    return service


def add_patient_view_cards(maker: Callable[[HookCall], list[dict]]) -> None:
    """`maker(call)` returns cards for the patient-view service; it runs after the drug checks."""
    if maker not in PATIENT_VIEW_CARD_MAKERS:
        PATIENT_VIEW_CARD_MAKERS.append(maker)
