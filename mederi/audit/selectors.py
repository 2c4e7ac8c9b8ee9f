"""Reading the audit log: verifying the chain, and the FHIR AuditEvent view of an entry."""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from django.db.models import Q

from mederi.audit.chain import GENESIS, HASHED_FIELDS, entry_hash, iso_utc
from mederi.audit.models import AuditEntry


@dataclass(frozen=True)
class VerifyResult:
    entries: int  # entries checked (up to and including the broken one)
    broken_at: int | None = None  # id of the first entry that does not verify
    reason: str | None = None
    head: str = GENESIS  # hash of the last entry checked

    @property
    def ok(self) -> bool:
        return self.broken_at is None

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.entries} entries"
        return f"audit log BROKEN at entry {self.broken_at}: {self.reason}"


_COLUMNS = ("id", "prev_hash", "hash") + HASHED_FIELDS


def _missing_link(entry_id: int, prev_hash: str, prev_id: int | None) -> str:
    """Why an entry's prev_hash is not its predecessor's hash: something inserted, moved or removed."""
    elsewhere = AuditEntry.objects.filter(hash=prev_hash).exclude(id=entry_id).values_list("id", flat=True).first()
    if prev_id is None:
        if elsewhere is not None:
            return f"the first entry chains from entry {elsewhere}: entries were moved"
        return "the first entry does not chain from the start: earlier entries are missing"
    if elsewhere is not None:
        return (f"prev_hash does not match entry {prev_id}; it matches entry {elsewhere}: "
                f"an entry was inserted or entries were moved")
    return (f"prev_hash does not match entry {prev_id}: the entry it chained from is missing "
            f"(entries between {prev_id} and {entry_id} were removed or altered)")


def verify_chain(anchor: str | None = None) -> VerifyResult:
    """Walk the log in id order, recomputing every hash; report the first broken link.

    Streams the rows, so memory stays constant however long the log is. With `anchor` (a head
    hash noted down earlier, e.g. from a previous run), also checks that it is still in the
    chain: removing entries from the end leaves a shorter chain that is otherwise intact.
    """
    rows = AuditEntry.objects.order_by("id").values_list(*_COLUMNS).iterator(chunk_size=2000)
    expected_prev = GENESIS
    prev_id = None
    count = 0
    anchor_seen = anchor is None or anchor == GENESIS
    for row in rows:
        entry_id, prev_hash, stored_hash = row[0], row[1], row[2]
        values = dict(zip(HASHED_FIELDS, row[3:]))
        count += 1
        if prev_hash != expected_prev:
            return VerifyResult(count, entry_id, _missing_link(entry_id, prev_hash, prev_id), expected_prev)
        if entry_hash(prev_hash, values) != stored_hash:
            return VerifyResult(count, entry_id, "hash does not match content", expected_prev)
        if not anchor_seen and stored_hash == anchor:
            anchor_seen = True
        expected_prev = stored_hash
        prev_id = entry_id
    if not anchor_seen:
        last = prev_id if prev_id is not None else 0
        return VerifyResult(count, last, f"the anchor {anchor} is not in the chain: entries after it were removed "
                                         "or it was never part of this log", expected_prev)
    return VerifyResult(count, None, None, expected_prev)


def entries_for_patient(patient_id: str, limit: int = 100) -> list[AuditEntry]:
    """Who touched this patient's record, newest first (an accounting of disclosures)."""
    return list(AuditEntry.objects.filter(patient_id=patient_id).order_by("-id")[:limit])


def search_entries(*, patient_id: str = "", actor: str = "", action: str = "", outcome: str = "",
                   date_from: date | None = None, date_to: date | None = None, up_to_id: int | None = None):
    """The entries an audit report asks for, newest first (a lazy query set).

    `actor` matches the actor's name exactly, ignoring case; the dates are whole UTC days, both
    included. `up_to_id` leaves out entries appended after a report began (its own among them).
    """
    entries = AuditEntry.objects.all()
    if patient_id:
        entries = entries.filter(patient_id=patient_id)
    if actor:
        entries = entries.filter(actor_name__iexact=actor)
    if action:
        entries = entries.filter(action=action)
    if outcome:
        entries = entries.filter(outcome=outcome)
    if date_from:
        entries = entries.filter(recorded__gte=datetime.combine(date_from, time.min, tzinfo=timezone.utc))
    if date_to:
        entries = entries.filter(recorded__lt=datetime.combine(date_to + timedelta(days=1), time.min,
                                                               tzinfo=timezone.utc))
    if up_to_id is not None:
        entries = entries.filter(id__lte=up_to_id)
    return entries.order_by("-id")


def patient_accesses(patient_id: str, up_to_id: int | None = None):
    """Every access to one patient's data, newest first: the accounting of disclosures (a query set)."""
    return search_entries(patient_id=patient_id, up_to_id=up_to_id)


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


# -- the FHIR AuditEvent view ---------------------------------------------------------------------

_AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_RESTFUL = "http://hl7.org/fhir/restful-interaction"
_DICOM = "http://dicom.nema.org/resources/ontology/DCM"

_REST = {  # action -> restful-interaction code
    "read": "read", "vread": "vread", "search": "search", "history": "history", "everything": "operation",
    "create": "create", "update": "update", "patch": "patch", "delete": "delete",
    "transaction": "transaction", "batch": "batch",
}
_OTHER = {  # action -> (DICOM event type, display, subtype or None)
    "export": ("110106", "Export", None),
    "download": ("110106", "Export", None),
    "print": ("110106", "Export", None),
    "import": ("110107", "Import", None),
    "login": ("110114", "User Authentication", ("110122", "Login")),
    "login-failed": ("110114", "User Authentication", ("110122", "Login")),
    "logout": ("110114", "User Authentication", ("110123", "Logout")),
    "mfa-change": ("110113", "Security Alert", ("110137", "User security Attributes Changed")),
    "password-change": ("110113", "Security Alert", ("110137", "User security Attributes Changed")),
    "role-change": ("110113", "Security Alert", ("110137", "User security Attributes Changed")),
    "client-change": ("110113", "Security Alert", ("110137", "User security Attributes Changed")),
    "emergency-access": ("110113", "Security Alert", ("110127", "Emergency Override Started")),
    "emergency-access-end": ("110113", "Security Alert", ("110128", "Emergency Override Stopped")),
    "token-issue": ("110114", "User Authentication", None),
    "token-revoke": ("110114", "User Authentication", None),
    "audit-read": ("110101", "Audit Log Used", None),
}
_ACTION_CODE = {
    "create": "C", "update": "U", "patch": "U", "delete": "D",
    "read": "R", "vread": "R", "history": "R", "export": "R", "print": "R", "download": "R", "audit-read": "R",
}
_OUTCOME_CODE = {"success": "0", "not-found": "4", "denied": "8", "error": "8"}
_PURPOSE = {  # our purposes -> HL7 v3 ActReason
    "treatment": ("TREAT", "treatment"),
    "emergency": ("ETREAT", "emergency treatment"),
    "payment": ("HPAYMT", "healthcare payment"),
    "operations": ("HOPERAT", "healthcare operations"),
    "patient-request": ("PATRQT", "patient requested"),
}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _coding(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def as_fhir_audit_event(entry: AuditEntry) -> dict:
    """The entry as an R4 AuditEvent resource (read-only view; the table stays the source)."""
    if entry.action in _REST:
        event_type = _coding(_AUDIT_EVENT_TYPE, "rest", "RESTful Operation")
        subtypes = [_coding(_RESTFUL, _REST[entry.action])]
    else:
        code, display, sub = _OTHER.get(entry.action, ("110100", "Application Activity", None))
        event_type = _coding(_DICOM, code, display)
        subtypes = [_coding(_DICOM, *sub)] if sub else []
    event: dict = {"resourceType": "AuditEvent"}
    if entry.id is not None:
        event["id"] = str(entry.id)
    event["type"] = event_type
    if subtypes:
        event["subtype"] = subtypes
    event["action"] = _ACTION_CODE.get(entry.action, "E")
    event["recorded"] = iso_utc(entry.recorded).replace("+00:00", "Z")
    event["outcome"] = _OUTCOME_CODE[entry.outcome]
    if entry.outcome != "success":
        event["outcomeDesc"] = entry.outcome
    if entry.purpose:
        code, display = _PURPOSE.get(entry.purpose, (None, None))
        if code:
            reason = {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", code, display)]}
        else:
            reason = {"text": entry.purpose}
        event["purposeOfEvent"] = [reason]
    agent: dict = {"who": {"display": entry.actor_name}, "requestor": True}
    if entry.actor_user_id is not None:
        agent["who"]["identifier"] = {"system": "urn:mederi:user", "value": str(entry.actor_user_id)}
    if entry.actor_role:
        agent["role"] = [{"text": entry.actor_role}]
    if entry.remote_addr:
        agent["network"] = {"address": entry.remote_addr, "type": "2" if _is_ip(entry.remote_addr) else "1"}
    event["agent"] = [agent]
    event["source"] = {
        "observer": {"display": "Mederi"},
        "type": [_coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
    }
    entities = []
    object_type = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
    object_role = "http://terminology.hl7.org/CodeSystem/object-role"
    if entry.patient_id:
        entities.append({"what": {"reference": f"Patient/{entry.patient_id}"},
                         "type": _coding(object_type, "1", "Person"),
                         "role": _coding(object_role, "1", "Patient")})
    for reference in entry.references:
        if reference == f"Patient/{entry.patient_id}":
            continue
        entities.append({"what": {"reference": reference}, "type": _coding(object_type, "2", "System Object"),
                         "role": _coding(object_role, "4", "Domain Resource")})
    if entry.query:
        entities.append({"type": _coding(object_type, "2", "System Object"),
                         "role": _coding(object_role, "24", "Query"),
                         "query": base64.b64encode(entry.query.encode("utf-8")).decode("ascii")})
    if entities:
        event["entity"] = entities
    return event


# -- searching the log as FHIR AuditEvents --------------------------------------------------------

FHIR_ACTION_CODES = ("C", "R", "U", "D", "E")


def _actions_coded(code: str):
    """The entries whose AuditEvent.action is `code`, by the same table `as_fhir_audit_event` uses."""
    if code == "E":  # everything the table does not name: searches, sign-ins, operations, ...
        return ~Q(action__in=list(_ACTION_CODE))
    return Q(action__in=[action for action, mapped in _ACTION_CODE.items() if mapped == code])


def _recorded_at(prefix: str, low: datetime, high: datetime):
    """`recorded` (a point in time) against a date search value standing for [low, high)."""
    inside = Q(recorded__gte=low, recorded__lt=high)
    return {
        "eq": inside,
        "ne": ~inside,
        "gt": Q(recorded__gte=high),
        "sa": Q(recorded__gte=high),
        "ge": Q(recorded__gte=low),
        "lt": Q(recorded__lt=low),
        "eb": Q(recorded__lt=low),
        "le": Q(recorded__lt=high),
    }[prefix]


@dataclass
class AuditEventSearch:
    """A parsed AuditEvent search: each list item is one parameter (all must hold); each inner
    list holds the comma-separated alternatives of that parameter (any may hold)."""

    patients: list[list[str]]
    agents: list[list[str]]
    actions: list[list[str]]  # FHIR action codes
    dates: list[list[tuple[str, datetime, datetime]]]  # (prefix, low, high)
    only_patient: str | None = None  # a token launched for one patient reaches only that patient's entries


def _any_of(conditions):
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def audit_event_entries(search: AuditEventSearch, *, up_to_id: int, before_id: int | None = None):
    """The entries an AuditEvent search matches, newest first, as the log stood at `up_to_id`.

    Pages go backwards from `before_id` (exclusive): entries only ever get higher ids, so a page
    never shifts while someone is reading the log.
    """
    entries = AuditEntry.objects.filter(id__lte=up_to_id)
    if search.only_patient is not None:
        entries = entries.filter(patient_id=search.only_patient)
    for alternatives in search.patients:
        entries = entries.filter(patient_id__in=alternatives)
    for alternatives in search.agents:
        entries = entries.filter(_any_of([Q(actor_name__iexact=name) for name in alternatives]))
    for alternatives in search.actions:
        entries = entries.filter(_any_of([_actions_coded(code) for code in alternatives]))
    for alternatives in search.dates:
        entries = entries.filter(_any_of([_recorded_at(*value) for value in alternatives]))
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return entries.order_by("-id")
