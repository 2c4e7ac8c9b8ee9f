"""Sending prescriptions to the pharmacy network, once, with the outcome kept on the prescription.

`prepare_new_rx`/`prepare_cancel_rx` build the SCRIPT message inside the signing transaction and
store it as an `ErxMessage`; `send_after_commit` queues the job that `deliver`s it once the
transaction has committed. `deliver` claims the message with a conditional UPDATE (two workers
never both send it); a network that cannot be reached is tried again after `RETRY_MINUTES`, a
network that took the message and gave no answer is not resent (the pharmacy may have it).

What happened is written on the MedicationRequest itself, as the `urn:mederi:erx` extension
(status queued | sent | accepted | error | failed, the message id, the network's words, when),
so every reader of the record, the FHIR API included, sees whether the pharmacy has it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import F

from mederi.clinical.prescribing import network, pharmacies, script, sigs
from mederi.clinical.prescribing.models import ErxMessage
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

RETRY_MINUTES = (1, 5, 15, 60, 240)  # then the message is marked as not sent


def with_status(body: dict, status: str, message_id: str, detail: str) -> dict:
    """`body` with its e-prescribing extension set to `status`."""
    entry = {"url": systems.ERX_STATUS, "extension": [
        {"url": "status", "valueCode": status},
        {"url": "message", "valueString": message_id},
        {"url": "detail", "valueString": detail or status},
        {"url": "at", "valueDateTime": clock.fhir_instant(clock.now())},
    ]}
    others = [e for e in body.get("extension") or [] if e.get("url") != systems.ERX_STATUS]
    return {**body, "extension": [*others, entry]}


def status_of(request: dict) -> dict:
    """{'status', 'message', 'detail', 'at'} of a prescription's e-prescribing extension ({} if never sent)."""
    for entry in request.get("extension") or []:
        if entry.get("url") == systems.ERX_STATUS:
            return {e["url"]: next(v for k, v in e.items() if k.startswith("value")) for e in entry["extension"]}
    return {}


def _practice(repo: Repository, patient: dict, practitioner_id: str) -> dict:
    roles = repo.search("PractitionerRole", [("practitioner", practitioner_id), ("_count", "5")]).matches
    for role in roles:
        reference = (role.as_dict().get("organization") or {}).get("reference", "")
        if reference.startswith("Organization/"):
            return repo.read("Organization", reference.split("/")[1]).as_dict()
    reference = (patient.get("managingOrganization") or {}).get("reference", "")
    if reference.startswith("Organization/"):
        return repo.read("Organization", reference.split("/")[1]).as_dict()
    return {"id": "practice", "name": "the practice"}


def message_parts(context: Context, request: dict) -> dict:
    """What a SCRIPT message and the printed prescription show, read from the record."""
    repo = Repository(context)
    patient = repo.read("Patient", request["subject"]["reference"].split("/")[1]).as_dict()
    practitioner_id = request["requester"]["reference"].split("/")[1]
    practitioner = repo.read("Practitioner", practitioner_id).as_dict()
    coding = request["medicationCodeableConcept"]["coding"][0]
    from mederi.clinical.drugs.selectors import drug_by_rxcui

    concept = drug_by_rxcui(coding["code"])
    schedule = sigs.schedule_of(concept.ingredient_rxcuis) if concept else ""
    return {"patient": patient, "practitioner": practitioner, "practice": _practice(repo, patient, practitioner_id),
            "request": request, "schedule": schedule, "schedule_code": sigs.DEA_SCHEDULE_CODES.get(schedule, "")}


def _prepare(context: Context, request: dict, pharmacy_id: str, kind: str) -> ErxMessage:
    pharmacy = pharmacies.pharmacy(context, pharmacy_id)
    parts = message_parts(context, request)
    message_id = uuid.uuid4().hex[:32]
    build = script.new_rx if kind == ErxMessage.NEW_RX else script.cancel_rx
    content = build(message_id, clock.now(), pharmacy_ncpdp=pharmacy.ncpdp, pharmacy_name=pharmacy.name, **parts)
    return ErxMessage.objects.create(kind=kind, message_id=message_id, medication_request_id=request["id"],
                                     patient_id=parts["patient"]["id"], pharmacy_ncpdp=pharmacy.ncpdp,
                                     content=content.decode("utf-8"), created=clock.now())


def prepare_new_rx(context: Context, request: dict, pharmacy_id: str) -> ErxMessage:
    return _prepare(context, request, pharmacy_id, ErxMessage.NEW_RX)


def prepare_cancel_rx(context: Context, request: dict) -> ErxMessage | None:
    """A CancelRx when the pharmacy has (or may have) the NewRx; None when it never left."""
    sent = ErxMessage.objects.filter(medication_request_id=request["id"], kind=ErxMessage.NEW_RX).first()
    if sent is None:
        return None
    stopped = ErxMessage.objects.filter(pk=sent.pk, state=ErxMessage.QUEUED).update(
        state=ErxMessage.FAILED, last_error="cancelled before it was sent")
    if stopped or sent.state in (ErxMessage.FAILED, ErxMessage.ERROR):
        return None  # it never reached a pharmacy: nothing to tell them
    pharmacy_id = request["dispenseRequest"]["performer"]["reference"].split("/")[1]
    return _prepare(context, request, pharmacy_id, ErxMessage.CANCEL_RX)


def send_after_commit(message_pk: int) -> None:
    transaction.on_commit(lambda: _send_later(message_pk))


def _send_later(message_pk: int, delay: int | None = None) -> None:
    from mederi.clinical.prescribing.tasks import send_erx_message

    if delay:
        send_erx_message.schedule((message_pk,), delay=delay)
    else:
        send_erx_message(message_pk)


def _record_on_request(message: ErxMessage, status: str, detail: str) -> None:
    repo = Repository(Context.system("e-prescribing"))
    with transaction.atomic():
        current = repo.read("MedicationRequest", message.medication_request_id)
        body = with_status(current.as_dict(), status, message.message_id, f"{message.kind}: {detail}")
        repo.update("MedicationRequest", message.medication_request_id, body, if_match=current.version_id)


def deliver(message_pk: int) -> str:
    """Send one queued message and record the network's answer; returns the message's new state."""
    claimed = ErxMessage.objects.filter(pk=message_pk, state=ErxMessage.QUEUED).update(
        state=ErxMessage.SENDING, attempts=F("attempts") + 1)
    message = ErxMessage.objects.get(pk=message_pk)
    if not claimed:
        return message.state  # sent already, or another worker has it
    now = clock.now()
    try:
        answer = network.network().send(message.content.encode("utf-8"))
    except network.Unreachable as error:
        retry = message.attempts < len(RETRY_MINUTES)
        message.state = ErxMessage.QUEUED if retry else ErxMessage.FAILED
        message.next_attempt = now + timedelta(minutes=RETRY_MINUTES[message.attempts - 1]) if retry else None
        message.last_error = str(error)
        message.save(update_fields=["state", "next_attempt", "last_error"])
        _record_on_request(message, "queued" if retry else "failed",
                           f"{error}; trying again" if retry else f"{error}; gave up after {message.attempts} tries")
        if retry:
            _send_later(message.pk, delay=RETRY_MINUTES[message.attempts - 1] * 60)
        return message.state
    except network.NoAnswer as error:
        message.state, message.sent_at, message.last_error = ErxMessage.SENT, now, str(error)
        message.save(update_fields=["state", "sent_at", "last_error"])
        _record_on_request(message, "sent", f"sent, no answer: {error}")
        return message.state
    message.sent_at, message.answered_at = now, clock.now()
    message.answer = f"{answer.code} {answer.description}"
    if answer.accepted:
        message.state, message.last_error = ErxMessage.ACCEPTED, ""
    else:
        message.state, message.last_error = ErxMessage.ERROR, answer.description or f"error {answer.code}"
    message.save(update_fields=["state", "sent_at", "answered_at", "answer", "last_error"])
    _record_on_request(message, "accepted" if answer.accepted else "error", answer.description or answer.code)
    return message.state


def retry_due() -> int:
    """Send the messages whose retry time has come (a worker that stopped meanwhile left them queued)."""
    due = list(ErxMessage.objects.filter(state=ErxMessage.QUEUED, next_attempt__lte=clock.now())
               .values_list("pk", flat=True)[:100])
    for message_pk in due:
        deliver(message_pk)
    return len(due)


def messages_of(request_id: str) -> list[ErxMessage]:
    return list(ErxMessage.objects.filter(medication_request_id=request_id).order_by("created"))
