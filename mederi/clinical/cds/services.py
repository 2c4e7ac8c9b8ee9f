"""The CDS Hooks services: drug checks on order-select and order-sign, patient-view, and feedback.

Hook requests and feedback follow CDS Hooks 2.0. Data the client did not prefetch is read
through the repository as the caller, so it is authorized and audited like any other read.
Each card shown is remembered for the visit (`CardRecord`): an alert whose cause was already
accepted or overridden in the encounter is not shown again, and order-select does not repeat
what it showed earlier in the visit.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from mederi.audit import services as audit
from mederi.clinical.cds import medications, registry
from mederi.clinical.cds.checks import Alert, allergy_alerts, check_order, duplicate_alerts, interaction_alerts
from mederi.clinical.cds.models import CardRecord
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, NotFound
from mederi.fhir.repository import Repository

INDICATOR = {"contraindicated": "critical", "major": "warning", "moderate": "info"}
SOURCE = {"label": "Mederi drug knowledge base"}
OVERRIDE_REASONS = [
    ("benefit-outweighs-risk", "Benefit outweighs the risk for this patient"),
    ("tolerated-before", "Patient has taken this combination or drug before without harm"),
    ("will-monitor", "Dose adjusted or patient will be monitored"),
    ("not-applicable", "Alert does not apply to this patient"),
]
OVERRIDE_CODES = {code for code, _ in OVERRIDE_REASONS}

PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "statements": "MedicationStatement?patient={{context.patientId}}&status=active",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}",
}


# -- cards -----------------------------------------------------------------------------------------

def card_for(alert: Alert, draft_reference: str | None = None, draft_name: str = "") -> dict:
    detail = f"**Why:** {alert.why}\n\n**What to do:** {alert.advice}"
    if alert.source:
        detail += f"\n\n*Source: {alert.source}.*"
    card = {
        "uuid": str(uuid.uuid4()),
        "summary": alert.summary if len(alert.summary) < 140 else alert.summary[:138] + "…",
        "detail": detail,
        "indicator": INDICATOR[alert.severity],
        "source": {**SOURCE, "topic": {"system": systems.CDS_ALERT_KIND, "code": alert.kind}},
        "overrideReasons": [{"system": systems.CDS_OVERRIDE_REASON, "code": code, "display": display}
                            for code, display in OVERRIDE_REASONS],
    }
    if draft_reference:
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [{
            "label": f"Remove the order for {draft_name}",
            "uuid": str(uuid.uuid4()),
            "isRecommended": alert.severity == "contraindicated",
            "actions": [{"type": "delete", "description": f"Remove the draft order for {draft_name}",
                         "resourceId": [draft_reference]}],
        }]
    return card


# -- reading the request ---------------------------------------------------------------------------

def _text(value, name: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest.single(f"{name} is required and must be a string", expression=name)
    return value.strip()


def _patient_id(context: dict) -> str:
    value = _text(context.get("patientId"), "context.patientId")
    return value.removeprefix("Patient/")


def _prefetched(call: registry.HookCall, key: str) -> list[dict]:
    """The prefetched resources for `key`, or the record's own when the client sent none."""
    value = call.prefetch.get(key)
    if value is None:
        return medications.read_for_patient(call.repository, key, call.patient_id)
    if not isinstance(value, (dict, list)):
        raise InvalidRequest.single(f"prefetch.{key} must be a Bundle", expression=f"prefetch.{key}")
    return medications.resources_of(value)


def _drafts(call: registry.HookCall) -> list[dict]:
    bundle = call.context.get("draftOrders")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidRequest.single(f"context.draftOrders must be a Bundle of the orders being written ({call.hook})",
                                    expression="context.draftOrders")
    return [r for r in medications.resources_of(bundle) if r.get("resourceType") == "MedicationRequest"]


def _check_patient(repo: Repository, patient_id: str) -> None:
    stored = repo.read("Patient", patient_id)
    audit.record(repo.context, "read", patient_id=patient_id, resource_type="Patient",
                 resource_ids=[stored.reference], query=f"Patient/{patient_id}", detail={"for": "cds"})


def call_service(service_id: str, body, context: Context) -> dict:
    service = registry.SERVICES.get(service_id)
    if service is None:
        known = ", ".join(sorted(registry.SERVICES))
        raise NotFound(f"there is no CDS service '{service_id}'; this server offers {known}")
    if not isinstance(body, dict):
        raise InvalidRequest.single("the body must be a JSON object (a CDS Hooks request)")
    hook = _text(body.get("hook"), "hook")
    if hook != service.hook:
        raise InvalidRequest.single(f"service '{service_id}' answers the {service.hook} hook, not {hook}",
                                    expression="hook")
    hook_instance = _text(body.get("hookInstance"), "hookInstance")
    hook_context = body.get("context")
    if not isinstance(hook_context, dict):
        raise InvalidRequest.single("context is required and must be an object", expression="context")
    prefetch = body.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise InvalidRequest.single("prefetch must be an object", expression="prefetch")
    patient_id = _patient_id(hook_context)
    encounter_id = _text(hook_context.get("encounterId"), "context.encounterId", required=False)
    repo = Repository(context)
    if prefetch.get("patient") is None:
        _check_patient(repo, patient_id)
    call = registry.HookCall(service_id, hook, hook_instance, patient_id, encounter_id.removeprefix("Encounter/"),
                             hook_context, prefetch, repo, context.user_id)
    return {"cards": service.handler(call)}


# -- the drug services -----------------------------------------------------------------------------

def _keys_dealt_with(call: registry.HookCall, keys: set[str], include_shown: bool) -> set[str]:
    if not call.encounter_id or not keys:
        return set()
    statuses = [CardRecord.ACCEPTED, CardRecord.OVERRIDDEN] + ([CardRecord.SHOWN] if include_shown else [])
    return set(CardRecord.objects.filter(patient_id=call.patient_id, encounter_id=call.encounter_id, key__in=keys,
                                         status__in=statuses).values_list("key", flat=True))


def _remember(call: registry.HookCall, shown: list[tuple[Alert, dict]]) -> None:
    now = clock.now()
    CardRecord.objects.bulk_create([
        CardRecord(uuid=card["uuid"], service_id=call.service_id, hook_instance=call.hook_instance[:64],
                   patient_id=call.patient_id, encounter_id=call.encounter_id, key=alert.key[:200],
                   summary=card["summary"][:200], indicator=card["indicator"], shown_at=now, user_id=call.user_id)
        for alert, card in shown])


def _shown_cards(call: registry.HookCall, found: list[tuple[Alert, str | None, str]], include_shown: bool) -> list[dict]:
    unique: dict[str, tuple[Alert, str | None, str]] = {}
    for item in found:
        unique.setdefault(item[0].key, item)
    dealt_with = _keys_dealt_with(call, set(unique), include_shown)
    shown = [(alert, card_for(alert, reference, name)) for key, (alert, reference, name) in unique.items()
             if key not in dealt_with]
    _remember(call, shown)
    return [card for _, card in shown]


def drug_order_cards(call: registry.HookCall) -> list[dict]:
    drafts = _drafts(call)
    if call.hook == "order-select":
        selections = call.context.get("selections")
        if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
            raise InvalidRequest.single("context.selections must list the references of the selected orders",
                                        expression="context.selections")
        chosen = {s.split("/")[-1] for s in selections}
        new_orders = [d for d in drafts if d.get("id") in chosen]
    else:
        new_orders = drafts
    draft_ids = {d.get("id") for d in drafts}
    on_record = [r for r in _prefetched(call, "medications") + _prefetched(call, "statements")
                 if r.get("id") not in draft_ids]
    current = medications.drugs_from(on_record)
    allergies = medications.allergies_from(_prefetched(call, "allergies"))
    all_drafts = medications.drugs_from(drafts)
    found = []
    for new in medications.drugs_from(new_orders):
        others = current + [d for d in all_drafts if d.reference != new.reference]
        found += [(alert, new.reference, new.name) for alert in check_order(new, others, allergies)]
    return _shown_cards(call, sorted(found, key=lambda f: list(INDICATOR).index(f[0].severity)),
                        include_shown=call.hook == "order-select")


def patient_view_cards(call: registry.HookCall) -> list[dict]:
    """Problems already in the medication list (interactions, duplicates, drugs the patient is allergic
    to), then whatever other apps add."""
    current = medications.drugs_from(_prefetched(call, "medications") + _prefetched(call, "statements"))
    allergies = medications.allergies_from(_prefetched(call, "allergies"))
    found = []
    for index, drug in enumerate(current):
        earlier = current[:index]
        for alert in (interaction_alerts(drug, earlier) + duplicate_alerts(drug, earlier)
                      + allergy_alerts(drug, allergies)):
            found.append((alert, None, drug.name))
    cards = _shown_cards(call, sorted(found, key=lambda f: list(INDICATOR).index(f[0].severity)), include_shown=True)
    for maker in registry.PATIENT_VIEW_CARD_MAKERS:
        cards += maker(call)
    return cards


registry.register(registry.Service(
    "drug-order-select", "order-select", "Drug checks while choosing",
    "Interactions, allergies and duplicate therapy for the medication orders being chosen.",
    drug_order_cards, PREFETCH))
registry.register(registry.Service(
    "drug-order-sign", "order-sign", "Drug checks before signing",
    "Interactions, allergies and duplicate therapy for every medication order about to be signed.",
    drug_order_cards, PREFETCH))
registry.register(registry.Service(
    "patient-view", "patient-view", "Chart review",
    "Problems in the current medication list; other reminders (such as preventive care) join here.",
    patient_view_cards, {k: v for k, v in PREFETCH.items()}))


# -- feedback --------------------------------------------------------------------------------------

def _override(item: dict, index: int) -> tuple[str, str]:
    where = f"feedback[{index}].overrideReason"
    reason = item.get("overrideReason")
    code = ((reason or {}).get("reason") or {}).get("code") if isinstance(reason, dict) else None
    if code not in OVERRIDE_CODES:
        choices = "; ".join(f"{c} ({d})" for c, d in OVERRIDE_REASONS)
        raise InvalidRequest.single(f"overriding a card needs a reason: give {where}.reason with one of {choices}",
                                    expression=where)
    comment = reason.get("userComment")
    return code, comment.strip() if isinstance(comment, str) else ""


def record_feedback(service_id: str, body, context: Context) -> int:
    """Store what the user did with each card (all items or none) and audit it; returns the count."""
    if service_id not in registry.SERVICES:
        raise NotFound(f"there is no CDS service '{service_id}'")
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise InvalidRequest.single("the body must be {\"feedback\": [ ... ]} with one entry per card",
                                    expression="feedback")
    records = {r.uuid: r for r in CardRecord.objects.filter(
        service_id=service_id, uuid__in=[i.get("card") for i in items if isinstance(i.get("card"), str)])}
    repo = Repository(context)
    planned = []
    for index, item in enumerate(items):
        record = records.get(item.get("card"))
        if record is None:
            raise InvalidRequest.single(f"feedback[{index}].card is not a card this service showed",
                                        expression=f"feedback[{index}].card")
        outcome = item.get("outcome")
        if outcome not in (CardRecord.ACCEPTED, CardRecord.OVERRIDDEN):
            raise InvalidRequest.single(f"feedback[{index}].outcome must be accepted or overridden",
                                        expression=f"feedback[{index}].outcome")
        reason = _override(item, index) if outcome == CardRecord.OVERRIDDEN else ("", "")
        repo.require_instance("Patient", record.patient_id, "read")
        planned.append((record, outcome, reason))
    now = clock.now()
    with transaction.atomic():
        for record, outcome, (code, comment) in planned:
            record.status, record.override_code, record.override_comment, record.outcome_at = outcome, code, comment, now
            record.save(update_fields=["status", "override_code", "override_comment", "outcome_at"])
            audit.record(context, "cds-feedback", patient_id=record.patient_id, resource_type="Encounter"
                         if record.encounter_id else None,
                         resource_ids=[f"Encounter/{record.encounter_id}"] if record.encounter_id else (),
                         query=f"cds-services/{service_id}/feedback",
                         detail={"card": record.uuid, "alert": record.key, "summary": record.summary,
                                 "outcome": outcome, "reason": code, "comment": comment})
    return len(planned)
