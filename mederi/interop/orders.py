"""Lab orders: a ServiceRequest per test, sent to the lab as one ORM^O01 over MLLP.

`place_lab_order` writes the ServiceRequests (requester: the ordering practitioner; a placer
order number the lab sends back with the results) and queues the message; the send happens after
the commit, in a job (`tasks.send_lab_order`). `deliver` claims the message with a conditional
UPDATE, so two workers never send it twice; a lab that cannot be reached is tried again later
(`RETRY_MINUTES`), while a message that went out and got no answer is not resent by itself: the
lab may have it, and the orders page says so.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from mederi.accounts.models import Profile
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.fhir.repository import Repository
from mederi.interop import standin
from mederi.interop.hl7 import HL7Error, Repeat, build, parse, segment, write
from mederi.interop.hl7.ack import parse_acknowledgement
from mederi.interop.hl7.values import hl7_datetime
from mederi.interop.mllp import MllpNoAnswer, MllpUnreachable, send_message
from mederi.interop.models import LabConnection, OutboundOrder

PERMISSION = "orders.sign"
RETRY_MINUTES = (1, 5, 15, 60, 240)  # then the order is marked as not sent
# Tests the order form offers: LOINC order codes with our own short names.
LAB_TESTS = {
    "58410-2": "Complete blood count (CBC)",
    "24323-8": "Comprehensive metabolic panel",
    "24321-2": "Basic metabolic panel",
    "24331-1": "Lipid panel",
    "4548-4": "Hemoglobin A1c",
    "3016-3": "Thyroid stimulating hormone (TSH)",
    "24356-8": "Urinalysis, complete",
    "34714-6": "Prothrombin time with INR (PT/INR)",
    "62292-8": "Vitamin D, 25-hydroxy",
    "2276-4": "Ferritin",
    "2132-9": "Vitamin B12",
    "1558-6": "Glucose, fasting",
    "2857-1": "Prostate specific antigen (PSA)",
}
PRIORITIES = {"routine": "R", "urgent": "A", "stat": "S"}  # ServiceRequest.priority -> ORC-7.6 / TQ1-9


def _requester(context: Context) -> tuple[str, str]:
    """(Practitioner id, display name) of the person ordering."""
    profile = Profile.objects.filter(user_id=context.user_id).first() if context.user_id else None
    if profile is None or not profile.practitioner_id:
        raise Forbidden("only a practitioner can order tests: your account is not linked to a Practitioner")
    user = get_user_model().objects.get(pk=context.user_id)
    return profile.practitioner_id, profile.full_name or user.get_full_name() or user.get_username()


def _medical_record_number(patient: dict) -> str:
    for identifier in patient.get("identifier") or []:
        if identifier.get("system") == systems.mrn_system() and identifier.get("value"):
            return identifier["value"]
    raise InvalidRequest.single("the patient has no medical record number, so the lab's results could not be "
                                "matched to them; add one on the registration page first", expression="patient")


def _orm(lab: LabConnection, control_id: str, patient: dict, mrn: str, orders: list[dict], requester: tuple[str, str],
         moment) -> str:
    name = (patient.get("name") or [{}])[0]
    gender = {"male": "M", "female": "F", "other": "O"}.get(patient.get("gender"), "U")
    ordering = (requester[0], *requester[1].split(" ", 1)[::-1])  # id^family^given, near enough for a display name
    segments = [
        segment("MSH", lab.sending_application, lab.sending_facility, lab.receiving_application, lab.receiving_facility,
                hl7_datetime(moment), "", ("ORM", "O01", "ORM_O01"), control_id, "P", "2.5.1"),
        segment("PID", "1", "", (mrn, "", "", lab.sending_facility, "MR"), "",
                (name.get("family", ""), " ".join(name.get("given") or [])), "",
                (patient.get("birthDate") or "").replace("-", ""), gender),
    ]
    for number, order in enumerate(orders, start=1):
        placer = order["identifier"][0]["value"]
        coding = order["code"]["coding"][0]
        priority = PRIORITIES[order.get("priority", "routine")]
        segments += [
            segment("ORC", "NW", (placer, lab.sending_application), "", (order["requisition"]["value"],), "", "",
                    ("", "", "", "", "", priority), "", hl7_datetime(moment), "", "", ordering),
            segment("OBR", str(number), (placer, lab.sending_application), "",
                    (coding["code"], coding["display"], "LN"), "", "", "", "", "", "", "", "", "", "", "", ordering),
        ]
        if order.get("note"):
            segments.append(segment("NTE", "1", "P", Repeat(*(line for line in order["note"][0]["text"].splitlines()))))
    return write(build(segments))


def place_lab_order(context: Context, patient_id: str, tests: list[str], lab_id: int, *, priority: str = "routine",
                    note: str = "", encounter_id: str = "") -> OutboundOrder:
    """Order `tests` (LOINC codes of LAB_TESTS) for a patient from a lab; the ORM goes out after the commit.
    `encounter_id` ties the orders to the visit they were placed in (the caller checks it is this patient's)."""
    if PERMISSION not in context.permissions:
        raise Forbidden(f"your roles do not allow ordering tests (it needs the permission {PERMISSION})")
    requester = _requester(context)
    lab = LabConnection.objects.filter(pk=lab_id, active=True).first()
    if lab is None:
        raise InvalidRequest.single("choose a lab that is set up and switched on", expression="lab")
    unknown = [code for code in tests if code not in LAB_TESTS]
    if not tests or unknown:
        raise InvalidRequest.single(f"unknown tests: {', '.join(unknown)}" if unknown else "choose at least one test",
                                    expression="tests")
    if priority not in PRIORITIES:
        raise InvalidRequest.single(f"priority must be one of {', '.join(PRIORITIES)}", expression="priority")
    repo = Repository(context)
    patient = repo.read("Patient", patient_id).as_dict()
    mrn = _medical_record_number(patient)
    moment = clock.now()
    group = f"G{uuid.uuid4().hex[:10].upper()}"
    with transaction.atomic():
        orders = []
        for code in dict.fromkeys(tests):
            body = {
                "resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": priority,
                "identifier": [{"system": systems.PLACER_ORDER, "value": f"MO{uuid.uuid4().hex[:12].upper()}",
                                "type": {"coding": [{"system": systems.IDENTIFIER_TYPE, "code": "PLAC"}]}}],
                "requisition": {"system": systems.PLACER_GROUP, "value": group},
                "category": [{"coding": [{"system": systems.SNOMED, "code": "108252007",
                                          "display": "Laboratory procedure"}]}],
                "code": {"coding": [{"system": systems.LOINC, "code": code, "display": LAB_TESTS[code]}],
                         "text": LAB_TESTS[code]},
                "subject": {"reference": f"Patient/{patient_id}"},
                "authoredOn": clock.fhir_instant(moment),
                "requester": {"reference": f"Practitioner/{requester[0]}", "display": requester[1]},
                "performer": [{"display": lab.name}],
            }
            if note.strip():
                body["note"] = [{"text": note.strip()}]
            if encounter_id:
                body["encounter"] = {"reference": f"Encounter/{encounter_id}"}
            orders.append(repo.create(body).stored.as_dict())
        control_id = uuid.uuid4().hex[:20]
        outbound = OutboundOrder.objects.create(
            lab=lab, control_id=control_id, patient_id=patient_id, service_request_ids=[o["id"] for o in orders],
            content=_orm(lab, control_id, patient, mrn, orders, requester, moment), created=moment)
        transaction.on_commit(lambda: _send_later(outbound.pk))
    return outbound


def _send_later(order_id: int, delay: int | None = None) -> None:
    from mederi.interop.tasks import send_lab_order

    if delay:
        send_lab_order.schedule((order_id,), delay=delay)
    else:
        send_lab_order(order_id)


def deliver(order_id: int) -> str:
    """Send one queued ORM and record the lab's answer; returns the new state."""
    claimed = OutboundOrder.objects.filter(pk=order_id, state=OutboundOrder.QUEUED).update(
        state=OutboundOrder.SENDING, attempts=F("attempts") + 1)
    order = OutboundOrder.objects.select_related("lab").get(pk=order_id)
    if not claimed:
        return order.state  # sent already, or another worker has it
    lab, now = order.lab, clock.now()
    try:
        if lab.transport == LabConnection.STANDIN:
            reply = standin.LAB.handle(order.content.encode())
        else:
            reply = send_message(lab.host, lab.port, order.content.encode(), lab.timeout_seconds)
    except MllpUnreachable as error:
        if order.attempts >= len(RETRY_MINUTES):
            order.state = OutboundOrder.FAILED
        else:
            order.state, order.next_attempt = OutboundOrder.QUEUED, now + timedelta(minutes=RETRY_MINUTES[order.attempts - 1])
        order.last_error = str(error)
        order.save(update_fields=["state", "next_attempt", "last_error"])
        if order.state == OutboundOrder.QUEUED:
            _send_later(order.pk, delay=RETRY_MINUTES[order.attempts - 1] * 60)
        return order.state
    except MllpNoAnswer as error:
        order.state, order.sent_at, order.last_error = OutboundOrder.SENT, now, str(error)
        order.save(update_fields=["state", "sent_at", "last_error"])
        return order.state
    order.sent_at, order.answered_at, order.answer = now, clock.now(), reply.decode("utf-8", errors="replace")
    try:
        code, reason = parse_acknowledgement(parse(reply))
    except HL7Error as error:
        code, reason = "", f"the lab's answer could not be read: {error}"
    if code in ("AA", "CA"):
        order.state, order.last_error = OutboundOrder.ACCEPTED, ""
    elif code:
        order.state, order.last_error = OutboundOrder.REFUSED, reason or f"the lab answered {code}"
    else:
        order.state, order.last_error = OutboundOrder.SENT, reason
    order.save(update_fields=["state", "sent_at", "answered_at", "answer", "last_error"])
    if order.state == OutboundOrder.ACCEPTED and lab.transport == LabConnection.STANDIN:
        standin.LAB.result_later(order.content)
    return order.state


def retry_due() -> int:
    """Send the orders whose retry time has come (a worker that stopped meanwhile left them queued)."""
    due = list(OutboundOrder.objects.filter(state=OutboundOrder.QUEUED, next_attempt__lte=clock.now())
               .values_list("pk", flat=True)[:100])
    for order_id in due:
        deliver(order_id)
    return len(due)
