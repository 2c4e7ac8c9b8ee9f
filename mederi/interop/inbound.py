"""Messages arriving over MLLP: results stored in one transaction, or a refusal kept as a dead letter.

`receive(raw)` is what the listener calls for each message and returns the ACK to send back:
AA when every resource of the message was stored, AE (the message was fine but cannot be
applied: unknown patient, a value that breaks a rule) or AR (the message cannot be read, or is
not a kind we take) with an ERR segment naming the segment and field. A refused message is
stored nowhere in the record: the whole ORU is one database transaction. It is kept in the
dead-letter list with its reason, for a person to replay once the cause is fixed.

The writes are the server acting for the interface (`Context.system`), named after the sender
in the audit log.
"""

from __future__ import annotations

import dataclasses
import logging
from urllib.parse import quote

from django.db import transaction

from mederi.audit import services as audit
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Conflict, Forbidden, MederiError, NotFound
from mederi.fhir.repository import Repository
from mederi.interop import results
from mederi.interop.hl7 import HL7Error, Message, parse
from mederi.interop.hl7.ack import ACCEPT, ERROR, REJECT, acknowledgement
from mederi.interop.models import DeadLetter
from mederi.scheduling import practice_time

log = logging.getLogger(__name__)
PERMISSION = "interfaces.manage"
REJECT_CODES = {"100", "200"}  # unreadable, or not a kind of message we take: AR rather than AE


def sender_of(message: Message) -> str:
    """MSH-3^MSH-4: the sending application and facility (the key of a lab's numbers)."""
    return f"{message.header.value(3)}^{message.header.value(4)}"


def interface_context(message: Message) -> Context:
    return dataclasses.replace(Context.system("hl7-results"), user_name=f"HL7 interface {sender_of(message)}")


def _token(system: str, value: str) -> str:
    return f"identifier={quote(system, safe=':')}|{quote(value, safe='')}"


def match_patient(repo: Repository, message: Message) -> str:
    """The patient's logical id, by medical record number (PID-3, MR entries first); never a new patient."""
    pid = message.first("PID")
    if pid is None:
        raise HL7Error("the message has no PID segment: whose results are these?", segment="PID", code="100")
    numbers = [rep.get(1) for rep in sorted(pid.repetitions(3), key=lambda r: r.get(5).upper() != "MR")
               if rep.get(1)]
    if not numbers:
        raise pid.error(3, "no patient identifier (the practice's medical record number) was sent", code="101")
    found = {}
    for number in numbers:
        for match in repo.find_ids("Patient", _token(systems.mrn_system(), number)):
            found[match.logical_id] = number
    if not found:
        raise pid.error(3, f"no patient has the medical record number {' or '.join(numbers)}; register the patient "
                           "(or have the lab correct the number), then replay the message", code="204")
    if len(found) > 1:
        raise pid.error(3, f"the numbers {', '.join(numbers)} name {len(found)} different patients", code="204")
    return next(iter(found))


def _order_for(repo: Repository, placer: str, patient_id: str, group_number: int) -> dict | None:
    matches = repo.find_ids("ServiceRequest", _token(systems.PLACER_ORDER, placer))
    if not matches:
        return None  # a result the practice did not order through us: stored, not linked
    order = matches[0].as_dict()
    if order.get("subject", {}).get("reference") != f"Patient/{patient_id}":
        raise HL7Error(f"order {placer} belongs to another patient than PID-3 names", segment="ORC", field=2,
                       code="204", sequence=group_number)
    return order


def ingest_results(message: Message) -> list[str]:
    """Store an ORU^R01's results in one transaction; returns the DiagnosticReport references."""
    if message.message_type != ("ORU", "R01"):
        kind = "^".join(filter(None, message.message_type)) or "(none)"
        raise HL7Error(f"this listener takes results (ORU^R01), not {kind}", segment="MSH", field=9, code="200")
    repo = Repository(interface_context(message))
    # Staged and flushed as one unit: one transaction, a few bulk statements, one audit entry per kind of write.
    with repo.atomic():
        patient_id = match_patient(repo, message)
        found = results.result_set(message, {"reference": f"Patient/{patient_id}"}, practice_time.zone(),
                                   sender_of(message))
        completed = []
        for number, (report, placer) in enumerate(zip(found.reports, found.placer_numbers), start=1):
            order = _order_for(repo, placer, patient_id, number) if placer else None
            if order is not None:
                report["basedOn"] = [{"reference": f"ServiceRequest/{order['id']}"}]
                if report["status"] in ("final", "corrected", "amended") and order.get("status") == "active":
                    completed.append(order)
        repo.prefetch([(r["resourceType"], r["id"]) for r in found.resources])
        for resource in found.resources:
            repo.update(resource["resourceType"], resource["id"], resource)
        for order in completed:  # every result is in: the order is done
            repo.update("ServiceRequest", order["id"], {**order, "status": "completed"})
    return [f"DiagnosticReport/{r['id']}" for r in found.reports]


def _refusal(error: Exception) -> HL7Error:
    if isinstance(error, HL7Error):
        return error
    if isinstance(error, MederiError):  # the record refused a resource: say which element
        return HL7Error(f"the record refused the results: {error}", code="207")
    log.exception("HL7 message could not be stored")
    return HL7Error(f"the message could not be stored ({type(error).__name__}); it is kept for review", code="207")


def _keep(text: str, message: Message | None, error: HL7Error) -> DeadLetter:
    kind = "^".join(filter(None, message.message_type)) if message else ""
    return DeadLetter.objects.create(
        received=clock.now(), content=text, message_type=kind[:20], control_id=(message.control_id if message else "")[:200],
        sender=(sender_of(message) if message else "")[:200], error=str(error), location=error.location[:20])


def receive(raw: bytes) -> bytes:
    """Handle one message from the listener and return the ACK (or NAK) to send back."""
    text = raw.decode("utf-8", errors="replace")
    message = None
    try:
        message = parse(raw)
        ingest_results(message)
    except Exception as failure:  # noqa: BLE001 - every failure is answered and kept, never dropped
        error = _refusal(failure)
        _keep(text, message, error)
        code = REJECT if message is None or error.code in REJECT_CODES else ERROR
        return acknowledgement(message, code, clock.now(), text=error.reason, error=error).encode()
    return acknowledgement(message, ACCEPT, clock.now()).encode()


def refuse_frame(reason: str, raw: bytes) -> bytes:
    """The answer to bytes that were not a proper MLLP frame; what came is kept as a dead letter."""
    error = HL7Error(f"not a proper MLLP frame: {reason}", code="100")
    _keep(raw.decode("utf-8", errors="replace"), None, error)
    return acknowledgement(None, REJECT, clock.now(), text=error.reason, error=error).encode()


class ReplayFailed(MederiError):
    """The message was refused again; the dead letter now holds the new reason."""


def replay(context: Context, letter_id: int) -> list[str]:
    """Try a refused message again (after its cause was fixed); audited either way."""
    if PERMISSION not in context.permissions:
        raise Forbidden(f"replaying refused messages needs the permission {PERMISSION}")
    with transaction.atomic():
        letter = DeadLetter.objects.select_for_update().filter(pk=letter_id).first()
        if letter is None:
            raise NotFound(f"there is no refused message {letter_id}")
        if letter.state != DeadLetter.NEW:
            raise Conflict(f"message {letter.control_id or letter_id} was already {letter.get_state_display().lower()}")
        letter.attempts += 1
        try:
            with transaction.atomic():
                reports = ingest_results(parse(letter.content))
        except Exception as failure:  # noqa: BLE001
            error = _refusal(failure)
            letter.error, letter.location = str(error), error.location[:20]
            letter.save(update_fields=["error", "location", "attempts"])
            audit.record(context, "message-replay", "error", resource_type="DeadLetter", resource_ids=[str(letter.pk)],
                         detail={"control_id": letter.control_id, "error": str(error)})
            failed = ReplayFailed.single(str(error))
        else:
            letter.state, letter.resolved_at, letter.resolved_by_id = DeadLetter.REPLAYED, clock.now(), context.user_id
            letter.save(update_fields=["state", "resolved_at", "resolved_by", "attempts"])
            audit.record(context, "message-replay", resource_type="DeadLetter", resource_ids=[str(letter.pk), *reports],
                         detail={"control_id": letter.control_id})
            return reports
    raise failed


def dismiss(context: Context, letter_id: int) -> None:
    """Set a refused message aside without storing it (a test message, a duplicate); audited."""
    if PERMISSION not in context.permissions:
        raise Forbidden(f"dismissing refused messages needs the permission {PERMISSION}")
    with transaction.atomic():
        updated = DeadLetter.objects.filter(pk=letter_id, state=DeadLetter.NEW).update(
            state=DeadLetter.DISMISSED, resolved_at=clock.now(), resolved_by_id=context.user_id)
        if not updated:
            raise Conflict(f"there is no refused message {letter_id} waiting for review")
        audit.record(context, "message-dismiss", resource_type="DeadLetter", resource_ids=[str(letter_id)])
