"""The audit log as FHIR AuditEvent resources, read-only (ONC 170.315(d)(3)).

`GET /fhir/R4/AuditEvent` searches the log (patient, agent, date, action; `_count` pages with
next links) and `GET /fhir/R4/AuditEvent/<id>` reads one entry. The log is the `audit_entry`
table; each entry is shown through `selectors.as_fhir_audit_event`, so these resources cannot
be written: every other method answers 405.

Who may look: a bearer token of a person holding `audit.view` (the permission of the audit
report). `security.read`, which governs AuditEvent and Provenance resources stored in the
record, neither grants nor is needed for the log itself. A token's SMART scopes must still
cover AuditEvent (`user/AuditEvent.rs`, `user/*.rs`, ...), and a token launched for one patient
reaches only that patient's entries. Reading the log is itself logged (`audit-read`), and so is
a refused attempt.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse

from mederi.audit import selectors
from mederi.audit import services as audit
from mederi.audit.models import AuditEntry
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest, MederiError, NotFound
from mederi.fhir import access, values
from mederi.fhir.views import base_url, error_response, fhir_endpoint, fhir_response, request_context

PERMISSION = "audit.view"
SEARCH_PARAMS = {
    "patient": "reference",
    "agent": "string",
    "date": "date",
    "action": "token",
}
SEARCH_PARAM_DOCS = {
    "patient": "The patient whose data the entry is about: an id or Patient/id",
    "agent": "The user who acted, by username (exact, ignoring case)",
    "date": "When the entry was recorded; prefixes eq, ne, gt, lt, ge, le, sa, eb; partial dates stand for "
            "their whole span",
    "action": "The AuditEvent action: C create, R read, U update, D delete, E execute (searches, sign-ins, "
              "operations)",
}
# Shapes the response without filtering: accepted quietly (_format is answered by fhir_endpoint).
_PASSIVE = {"_format", "_pretty"}
# The paging cursor: the log as it stood (`_at`) and the oldest entry already shown (`_before_id`).
_CURSOR = ("_at", "_before_id")
_DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


def _not_allowed(request) -> HttpResponse:
    error = MederiError.single(f"the audit log is read-only: {request.method} is not allowed here; use GET",
                               code="not-supported", status=405)
    response = error_response(error)
    response["Allow"] = "GET, HEAD"
    return response


def _lenient(request) -> bool:
    for part in request.META.get("HTTP_PREFER", "").replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip() == "handling" and value.strip().strip('"') == "lenient":
            return True
    return False


def _scope_allows(context: Context, interaction: str) -> bool:
    if context.scopes is None:
        return True
    letter = access.SCOPE_LETTER[interaction]
    for scope in context.scopes:
        parsed = access.parse_scope(scope)
        if parsed and parsed[1] in ("*", "AuditEvent") and letter in parsed[2]:
            return True
    return False


def _authorize(request, interaction: str) -> Context:
    """The caller may see the log: `audit.view`, and a token scope covering AuditEvent."""
    context = request_context(request)
    if context.is_system:
        return context
    problem = None
    if PERMISSION not in context.permissions:
        problem = f"your roles do not allow you to see the audit log (it needs the permission {PERMISSION})"
    elif not _scope_allows(context, interaction):
        letter = access.SCOPE_LETTER[interaction]
        problem = (f"the access token does not carry a scope for {interaction} of AuditEvent "
                   f"(for example user/AuditEvent.{letter})")
    if problem:
        _log(request, context, "denied", {"api": "fhir", "interaction": interaction})
        raise Forbidden(problem)
    return context


def _log(request, context: Context, outcome: str, detail: dict, ids=()) -> None:
    with transaction.atomic():  # appended now, not left in the read buffer
        audit.record(context, "audit-read", outcome, resource_type="AuditEvent", resource_ids=ids,
                     query=request.get_full_path(), detail=detail)


# -- parsing a search -----------------------------------------------------------------------------


def _whole_number(name: str, value: str) -> int:
    if not value.isdigit():
        raise InvalidRequest.single(f"{name} must be a whole number, not '{value}'", expression=name)
    return int(value)


def _patient(value: str) -> str:
    if "/" not in value:
        return value
    found = audit.patient_from_reference(value)
    if found is None:
        raise InvalidRequest.single(f"patient must be a patient id or Patient/id, not '{value}'", expression="patient")
    return found


def _action(value: str) -> str:
    if value not in selectors.FHIR_ACTION_CODES:
        raise InvalidRequest.single(
            f"action must be one of {', '.join(selectors.FHIR_ACTION_CODES)} (the AuditEvent action codes), "
            f"not '{value}'", expression="action")
    return value


def _date(value: str):
    value = value.replace(" ", "+")  # the '+' of a time zone that was not percent-encoded
    prefix, raw = "eq", value
    if value[:2].isalpha() and value[2:3].isdigit():
        prefix, raw = value[:2], value[2:]
        if prefix not in _DATE_PREFIXES:
            raise InvalidRequest.single(
                f"'{prefix}' is not a date prefix this search supports; use one of {', '.join(_DATE_PREFIXES)}",
                expression="date")
    try:
        low, high = values.parse_date_range(raw)
    except ValueError as exc:
        raise InvalidRequest.single(f"'{value}' is not a valid date search value: {exc}", expression="date") from exc
    return prefix, low, high


_PARSERS = {"patient": _patient, "agent": str.strip, "action": _action, "date": _date}
_FIELDS = {"patient": "patients", "agent": "agents", "action": "actions", "date": "dates"}


def _parse(items: list[tuple[str, str]], strict: bool):
    """(the search, the filters to repeat on links, count, total wanted, cursor, warnings)."""
    search = selectors.AuditEventSearch([], [], [], [])
    filters, warnings = [], []
    count = settings.FHIR_DEFAULT_PAGE_SIZE
    total = True
    cursor = {}
    for name, value in items:
        if name in SEARCH_PARAMS:
            if value == "":
                raise InvalidRequest.single(f"parameter '{name}' has no value", expression=name)
            alternatives = [_PARSERS[name](part) for part in value.split(",") if part != ""]
            if not alternatives or any(a == "" for a in alternatives):
                raise InvalidRequest.single(f"parameter '{name}' has an empty value", expression=name)
            getattr(search, _FIELDS[name]).append(alternatives)
            filters.append((name, value))
        elif name == "_count":
            count = min(_whole_number(name, value), settings.FHIR_MAX_PAGE_SIZE)
        elif name == "_total":
            if value not in ("none", "estimate", "accurate"):
                raise InvalidRequest.single(f"_total must be none, estimate or accurate, not '{value}'",
                                            expression=name)
            total = value != "none"
        elif name in _CURSOR:
            cursor[name] = _whole_number(name, value)
        elif name in _PASSIVE:
            continue
        else:
            base = name.split(":", 1)[0]
            message = (f"'{name}': AuditEvent search parameters take no modifiers" if base in SEARCH_PARAMS
                       else f"'{name}' is not a search parameter of AuditEvent here; use "
                            f"{', '.join(SEARCH_PARAMS)}, _count or _total")
            if strict:
                raise InvalidRequest.single(message + " (send 'Prefer: handling=lenient' to ignore it)",
                                            code="not-supported", expression=name)
            warnings.append(message + "; ignored")
    return search, filters, count, total, cursor, warnings


# -- the views ------------------------------------------------------------------------------------


def _entry_json(base: str, entry: AuditEntry) -> dict:
    return {"fullUrl": f"{base}/AuditEvent/{entry.id}", "resource": selectors.as_fhir_audit_event(entry),
            "search": {"mode": "match"}}


def _search(request):
    context = _authorize(request, "search")
    items = [(k, v) for k in request.GET for v in request.GET.getlist(k)]
    if request.method == "POST":
        items += [(k, v) for k in request.POST for v in request.POST.getlist(k)]
    search, filters, count, want_total, cursor, warnings = _parse(items, strict=not _lenient(request))
    search.only_patient = context.patient_id
    up_to = cursor.get("_at") or selectors.last_entry_id()  # the log as it stands, before this read is logged
    matches = selectors.audit_event_entries(search, up_to_id=up_to)
    page = list(selectors.audit_event_entries(search, up_to_id=up_to, before_id=cursor.get("_before_id"))
                [: count + 1]) if count else []
    has_next = len(page) > count
    page = page[:count]
    total = matches.count() if want_total or count == 0 else None

    base = base_url(request)
    where = f"{base}/AuditEvent"
    links = [{"relation": "self", "url": f"{where}?{urlencode(items)}"}]
    if has_next:
        following = filters + [("_count", str(count)), ("_at", str(up_to)), ("_before_id", str(page[-1].id))]
        links.append({"relation": "next", "url": f"{where}?{urlencode(following)}"})
    entries = [_entry_json(base, entry) for entry in page]
    if warnings:
        outcome = {"resourceType": "OperationOutcome",
                   "issue": [{"severity": "warning", "code": "not-supported", "diagnostics": w} for w in warnings]}
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    bundle["entry"] = entries

    detail = {"api": "fhir", "rows": len(page)}
    if total is not None:
        detail["total"] = total
    _log(request, context, "success", detail, ids=[f"AuditEvent/{entry.id}" for entry in page])
    return fhir_response(bundle)


@fhir_endpoint
def audit_events(request):
    """GET /fhir/R4/AuditEvent: search the log."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed(request)
    return _search(request)


@fhir_endpoint
def audit_event(request, entry_id: str):
    """GET /fhir/R4/AuditEvent/<id>: one entry (and POST AuditEvent/_search, a search by form)."""
    if entry_id == "_search" and request.method == "POST":
        return _search(request)
    if request.method not in ("GET", "HEAD"):
        return _not_allowed(request)
    context = _authorize(request, "read")
    entry = AuditEntry.objects.filter(id=int(entry_id)).first() if entry_id.isdigit() else None
    if entry is None or (context.patient_id is not None and entry.patient_id != context.patient_id):
        _log(request, context, "not-found", {"api": "fhir", "id": entry_id})
        raise NotFound(f"AuditEvent/{entry_id} does not exist")
    _log(request, context, "success", {"api": "fhir", "rows": 1}, ids=[f"AuditEvent/{entry.id}"])
    return fhir_response(selectors.as_fhir_audit_event(entry))
