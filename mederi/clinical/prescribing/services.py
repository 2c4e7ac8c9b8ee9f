"""Writing a prescription: a draft MedicationRequest, the drug checks of the CDS services, signing.

The page calls the same code the CDS Hooks endpoints run (`cds.services.call_service` and
`record_feedback`), in-process: what an outside EHR is told at /cds-services and what our own
prescriber sees are the same cards, remembered and audited the same way. A critical or warning
card blocks signing until the prescriber removes the drug (feedback `accepted`) or overrides it
with one of the card's reasons (feedback `overridden`).

Signing makes the request active and, when a pharmacy is chosen, queues a NewRx for the pharmacy
network (`delivery.py`) in the same transaction; it leaves after the commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from mederi.accounts.models import Profile
from mederi.audit import services as audit
from mederi.clinical.cds import services as cds
from mederi.clinical.cds.models import CardRecord
from mederi.clinical.drugs.selectors import drug_by_rxcui
from mederi.clinical.prescribing import delivery, pharmacies, sigs
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest, Issue
from mederi.fhir.repository import Repository

PERMISSION = "orders.sign"
SELECT_SERVICE, SIGN_SERVICE = "drug-order-select", "drug-order-sign"
BLOCKING = ("critical", "warning")


@dataclass
class Prescription:
    """What the prescriber filled in (already parsed by the form)."""

    rxcui: str
    dose: Decimal
    dose_unit: str
    route: str
    frequency: str
    days: int | None
    quantity: Decimal
    quantity_unit: str
    refills: int
    substitution_allowed: bool = True
    note: str = ""
    pharmacy_id: str = ""


@dataclass
class Override:
    service_id: str
    card: str  # the card's uuid
    reason: str  # one of the card's overrideReasons codes
    comment: str = ""


@dataclass
class SignResult:
    request: dict
    signed: bool
    cards: list[dict] = field(default_factory=list)  # the cards still standing (blocking ones when not signed)


def prescriber(context: Context) -> dict:
    """The Practitioner of the person prescribing."""
    profile = Profile.objects.filter(user_id=context.user_id).first() if context.user_id else None
    if profile is None or not profile.practitioner_id:
        raise Forbidden("only a practitioner can prescribe: your account is not linked to a Practitioner")
    return Repository(context).read("Practitioner", profile.practitioner_id).as_dict()


def identifier(resource: dict, system: str) -> str:
    return next((i.get("value", "") for i in resource.get("identifier") or [] if i.get("system") == system), "")


def _checked(context: Context, rx: Prescription, practitioner: dict):
    """The catalogue concept, its schedule and the pharmacy; every problem raised at its field."""
    issues = []
    concept = drug_by_rxcui(rx.rxcui) if rx.rxcui else None
    if concept is None:
        issues.append(Issue("Choose the drug from the search results.", expression="rxcui"))
    schedule = sigs.schedule_of(concept.ingredient_rxcuis) if concept else ""
    rule = sigs.refill_rule(schedule)
    if rx.refills > rule.max_refills:
        issues.append(Issue(f"{rule.words} You asked for {rx.refills}.", expression="refills"))
    if schedule and not identifier(practitioner, systems.DEA):
        issues.append(Issue(f"{concept.name} is a Schedule {schedule[1:]} controlled substance and your practitioner "
                            "record has no DEA number: ask the practice administrator to add it.", expression="rxcui"))
    if rx.days and rx.days > rule.valid_days:
        issues.append(Issue(f"The prescription can be filled for {rule.valid_days} days at most.", expression="days"))
    pharmacy = None
    if rx.pharmacy_id:
        chosen = [p for p in pharmacies.pharmacies(context) if p.id == rx.pharmacy_id]
        if not chosen:
            issues.append(Issue("Choose a pharmacy from the list (that one is not in use).", expression="pharmacy_id"))
        pharmacy = chosen[0] if chosen else None
    if issues:
        raise InvalidRequest(issues)
    return concept, schedule, pharmacy


def medication_request(patient_id: str, encounter_id: str, rx: Prescription, concept, schedule: str,
                       practitioner: dict, pharmacy, moment) -> dict:
    rule = sigs.refill_rule(schedule)
    unit_label, unit_code = sigs.QUANTITY_UNITS[rx.quantity_unit]
    route_label = sigs.ROUTES[rx.route][0]
    name = (practitioner.get("name") or [{}])[0]
    dosage = {
        "sequence": 1,
        "text": sigs.sig_text(rx.dose, rx.dose_unit, rx.route, rx.frequency, rx.days),
        "timing": sigs.timing(rx.frequency),
        "route": {"coding": [{"system": systems.ROUTE, "code": rx.route, "display": route_label}], "text": route_label},
        "doseAndRate": [{"doseQuantity": {"value": rx.dose, "unit": sigs.DOSE_UNITS[rx.dose_unit][0],
                                          "system": systems.UCUM, "code": sigs.DOSE_UNITS[rx.dose_unit][2]}}],
    }
    if sigs.FREQUENCIES[rx.frequency].as_needed:
        dosage["asNeededBoolean"] = True
    dispense = {
        "validityPeriod": {"start": moment.date().isoformat(),
                           "end": (moment.date() + timedelta(days=rule.valid_days)).isoformat()},
        "numberOfRepeatsAllowed": rx.refills,
        "quantity": {"value": rx.quantity, "unit": unit_label, "system": "http://ncimeta.nci.nih.gov",
                     "code": unit_code},
    }
    if rx.days:
        dispense["expectedSupplyDuration"] = {"value": rx.days, "unit": "days", "system": systems.UCUM, "code": "d"}
    if pharmacy is not None:
        dispense["performer"] = {"reference": f"Organization/{pharmacy.id}", "display": pharmacy.name}
    body = {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": systems.RXNORM, "code": concept.rxcui,
                                                  "display": concept.name}], "text": concept.name},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": clock.fhir_instant(moment),
        "requester": {"reference": f"Practitioner/{practitioner['id']}",
                      "display": " ".join([*name.get("given", []), name.get("family", "")]).strip()},
        "dosageInstruction": [dosage],
        "dispenseRequest": dispense,
        "substitution": {"allowedBoolean": rx.substitution_allowed},
    }
    if schedule:
        body["category"] = [{"text": f"Controlled substance, schedule {schedule}"}]
    if encounter_id:
        body["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    if rx.note.strip():
        body["note"] = [{"text": rx.note.strip()}]
    return body


def _current_draft(repo: Repository, patient_id: str, draft_id: str) -> int | None:
    if not draft_id:
        return None
    stored = repo.read("MedicationRequest", draft_id)
    current = stored.as_dict()
    if current.get("status") != "draft" or current.get("subject", {}).get("reference") != f"Patient/{patient_id}":
        raise InvalidRequest.single("this prescription is no longer a draft of this patient; start a new one",
                                    expression="draft_id")
    return stored.version_id


def save_draft(context: Context, patient_id: str, rx: Prescription, encounter_id: str = "", draft_id: str = "") -> dict:
    """Write (or rewrite) the prescription as a draft MedicationRequest; returns it as stored."""
    practitioner = prescriber(context)
    concept, schedule, pharmacy = _checked(context, rx, practitioner)
    repo = Repository(context)
    repo.read("Patient", patient_id)
    if encounter_id:
        repo.read("Encounter", encounter_id)
    body = medication_request(patient_id, encounter_id, rx, concept, schedule, practitioner, pharmacy, clock.now())
    version = _current_draft(repo, patient_id, draft_id)
    if version is None:
        return repo.create(body).stored.as_dict()
    body["id"] = draft_id
    return repo.update("MedicationRequest", draft_id, body, if_match=version).stored.as_dict()


# -- the CDS services, called in-process ---------------------------------------------------------------

def _hook_body(hook: str, patient_id: str, encounter_id: str, practitioner_id: str, drafts: list[dict],
               selections: list[str] | None = None) -> dict:
    context = {"userId": f"Practitioner/{practitioner_id}", "patientId": patient_id,
               "draftOrders": {"resourceType": "Bundle", "type": "collection",
                               "entry": [{"resource": d} for d in drafts]}}
    if encounter_id:
        context["encounterId"] = encounter_id
    if selections is not None:
        context["selections"] = selections
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}


def selection_cards(context: Context, patient_id: str, rxcui: str, encounter_id: str = "") -> list[dict]:
    """The order-select cards for choosing drug `rxcui` (nothing is written to the record)."""
    concept = drug_by_rxcui(rxcui)
    if concept is None:
        raise InvalidRequest.single("Choose the drug from the search results.", expression="rxcui")
    practitioner = prescriber(context)
    chosen = {"resourceType": "MedicationRequest", "id": "chosen", "status": "draft", "intent": "order",
              "subject": {"reference": f"Patient/{patient_id}"},
              "medicationCodeableConcept": {"coding": [{"system": systems.RXNORM, "code": concept.rxcui,
                                                        "display": concept.name}], "text": concept.name}}
    body = _hook_body("order-select", patient_id, encounter_id, practitioner["id"], [chosen],
                      ["MedicationRequest/chosen"])
    return cds.call_service(SELECT_SERVICE, body, context)["cards"]


def _record_overrides(context: Context, overrides: list[Override]) -> set[str]:
    """Send each override to the service that showed the card; returns the alert keys overridden."""
    by_service: dict[str, list[dict]] = {}
    for item in overrides:
        by_service.setdefault(item.service_id, []).append({
            "card": item.card, "outcome": CardRecord.OVERRIDDEN,
            "overrideReason": {"reason": {"system": systems.CDS_OVERRIDE_REASON, "code": item.reason},
                               "userComment": item.comment},
            "outcomeTimestamp": clock.fhir_instant(clock.now())})
    for service_id, items in by_service.items():
        cds.record_feedback(service_id, {"feedback": items}, context)
    return set(CardRecord.objects.filter(uuid__in=[o.card for o in overrides]).values_list("key", flat=True))


def remove_drug(context: Context, patient_id: str, service_id: str, card: str, draft_id: str = "") -> None:
    """The prescriber took the card's advice and removed the drug: feedback `accepted`, draft cancelled."""
    cds.record_feedback(service_id, {"feedback": [{"card": card, "outcome": CardRecord.ACCEPTED,
                                                   "acceptedSuggestions": [],
                                                   "outcomeTimestamp": clock.fhir_instant(clock.now())}]}, context)
    if draft_id:
        repo = Repository(context)
        version = _current_draft(repo, patient_id, draft_id)
        body = repo.read("MedicationRequest", draft_id).as_dict()
        body["status"] = "cancelled"
        body["statusReason"] = {"text": "Removed after a drug alert"}
        repo.update("MedicationRequest", draft_id, body, if_match=version)


def sign_prescription(context: Context, patient_id: str, rx: Prescription, *, encounter_id: str = "",
                      draft_id: str = "", overrides: list[Override] = ()) -> SignResult:
    """Check the prescription with the order-sign service and, when nothing blocking stands, sign it."""
    if PERMISSION not in context.permissions:
        raise Forbidden(f"your roles do not allow prescribing (it needs the permission {PERMISSION})")
    draft = save_draft(context, patient_id, rx, encounter_id, draft_id)
    overridden = _record_overrides(context, list(overrides)) if overrides else set()
    practitioner_id = draft["requester"]["reference"].split("/")[1]
    body = _hook_body("order-sign", patient_id, encounter_id, practitioner_id, [draft])
    cards = cds.call_service(SIGN_SERVICE, body, context)["cards"]
    keys = dict(CardRecord.objects.filter(uuid__in=[c["uuid"] for c in cards]).values_list("uuid", "key"))
    standing = [c for c in cards if keys.get(c["uuid"]) not in overridden]
    if any(c["indicator"] in BLOCKING for c in standing):
        return SignResult(draft, False, standing)
    return SignResult(_activate(context, draft), True, standing)


def _activate(context: Context, draft: dict) -> dict:
    repo = Repository(context)
    with transaction.atomic():
        body = dict(draft)
        body.pop("meta", None)
        body["status"] = "active"
        body["authoredOn"] = clock.fhir_instant(clock.now())
        performer = (body["dispenseRequest"].get("performer") or {}).get("reference")
        message = None
        if performer:
            message = delivery.prepare_new_rx(context, body, performer.split("/")[1])
            body = delivery.with_status(body, "queued", message.message_id, "waiting to be sent")
        stored = repo.update("MedicationRequest", body["id"], body, if_match=int(draft["meta"]["versionId"]))
        audit.record(context, "sign", patient_id=audit.patient_of(body), resource_type="MedicationRequest",
                     resource_ids=[f"MedicationRequest/{body['id']}"],
                     detail={"version": stored.stored.version_id, "sent_to": performer or "printed"})
        if message is not None:
            delivery.send_after_commit(message.pk)
    return stored.stored.as_dict()


def cancel_prescription(context: Context, request_id: str, reason: str) -> dict:
    """Stop an active prescription; a pharmacy that received it is sent a CancelRx."""
    if PERMISSION not in context.permissions:
        raise Forbidden(f"your roles do not allow cancelling prescriptions (it needs the permission {PERMISSION})")
    if not reason.strip():
        raise InvalidRequest.single("Say why the prescription is cancelled.", expression="reason")
    repo = Repository(context)
    with transaction.atomic():
        current = repo.read("MedicationRequest", request_id)
        body = current.as_dict()
        if body.get("status") != "active":
            raise InvalidRequest.single(f"only an active prescription can be cancelled (this one is {body.get('status')})",
                                        expression="reason")
        body["status"] = "cancelled"
        body["statusReason"] = {"text": reason.strip()[:500]}
        message = delivery.prepare_cancel_rx(context, body)
        if message is not None:
            body = delivery.with_status(body, "queued", message.message_id, "cancellation waiting to be sent")
        stored = repo.update("MedicationRequest", request_id, body, if_match=current.version_id).stored
        if message is not None:
            delivery.send_after_commit(message.pk)
    return stored.as_dict()
