"""Writes of billing: the payer directory and eligibility checks.

`check_eligibility` asks a payer whether a Coverage is in force and what the patient will owe:
it reads the Coverage, the patient (and the subscriber when that is someone else), the payer and
the practice through the repository, sends a 270 through the payer's clearinghouse connector,
reads the 271, and stores what happened — the CoverageEligibilityRequest and
CoverageEligibilityResponse (one unit of repository writes), both raw X12 files and the index row
of the check — in one transaction, after the network exchange, so a failure at any point leaves
nothing half-written. A payer that does not answer, or answers with something unreadable, is not
an exception: the check is stored with an error outcome and the summary says what to do.

`save_payer` creates or changes a payer Organization and its clearinghouse routing together.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from mederi.audit import services as audit
from mederi.billing import practice
from mederi.billing.clearinghouse import ClearinghouseError
from mederi.billing.connectors import connector_for
from mederi.billing.eligibility_resources import (
    NO_ANSWER,
    NOT_SENT,
    UNREADABLE,
    CheckFacts,
    EligibilitySummary,
    answered_response,
    failed_response,
    request_resource,
    summary_of,
)
from mederi.billing.models import ControlNumber, EligibilityCheck, Interchange, PayerConnection
from mederi.billing.x12.eligibility import Dependent, EligibilityInquiry, EligibilityResult, build_270, parse_271
from mederi.billing.x12.envelope import X12Error
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError
from mederi.fhir import access
from mederi.fhir.repository import Repository

__all__ = [
    "EligibilityError",
    "EligibilitySummary",
    "OFFICE_VISIT_CHECK",
    "PayerDetails",
    "check_eligibility",
    "payer_problems",
    "routing_problems",
    "save_payer",
]

# What the schedule, the patient page and the nightly batch ask about: the plan and office visits.
OFFICE_VISIT_CHECK = ("30", "98")
PAYER_TYPE = "pay"
PROVIDER_TYPE = "prov"


class EligibilityError(MederiError):
    """A check that can't be made as things stand; the message says what to fix. Nothing was sent or stored."""

    def __init__(self, message: str):
        super().__init__([Issue(message, code="business-rule")], 422)

    @property
    def message(self) -> str:
        return self.issues[0].diagnostics


# -- reading what a 270 needs --------------------------------------------------------------------


def _id_of(reference, resource_type: str) -> str:
    text = (reference or {}).get("reference") or "" if isinstance(reference, dict) else ""
    prefix = f"{resource_type}/"
    return text[len(prefix):] if text.startswith(prefix) else ""


def _identifier(resource: dict, system: str) -> str:
    for identifier in resource.get("identifier") or ():
        if identifier.get("system") == system and identifier.get("value"):
            return identifier["value"].strip()
    return ""


# Letters that Unicode does not decompose into an ASCII letter plus accents.
_LETTERS = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Æ": "AE", "æ": "ae",
                          "Œ": "OE", "œ": "oe", "ß": "ss", "Þ": "TH", "þ": "th", "Ð": "D", "ð": "d", "ı": "i"})


def x12_text(value: str, limit: int) -> str:
    """A name as X12 carries it: plain ASCII, no delimiter characters, one space between words."""
    plain = unicodedata.normalize("NFKD", (value or "").translate(_LETTERS)).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[*~:^|\\\r\n]+", " ", plain)
    return " ".join(plain.split())[:limit].strip()


def _name(person: dict) -> tuple[str, str]:
    """(first, last) from the official name, else the first one."""
    names = person.get("name") or []
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = (chosen.get("given") or [""])[0]
    return x12_text(given, 35), x12_text(chosen.get("family") or chosen.get("text") or "", 60)


def _birth_date(person: dict) -> dt.date | None:
    text = person.get("birthDate") or ""
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


GENDERS = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
# Coverage.relationship (the patient's relationship to the subscriber) -> INS02 of the 270 dependent loop.
DEPENDENT_RELATIONSHIPS = {"spouse": "01", "common": "53", "child": "19", "parent": "34", "other": "34",
                           "injured": "34"}


@dataclass
class _Parties:
    coverage_id: str
    patient_id: str
    patient: dict
    subscriber: dict  # the patient when they are the subscriber
    relationship: str  # "" when the patient is the subscriber, else the INS02 code
    member_id: str
    payer_id: str
    payer_name: str
    payer_x12_id: str
    provider_id: str
    provider_name: str
    provider_npi: str
    connection: PayerConnection


def billing_provider(repository: Repository) -> tuple[str, str, str]:
    """(Organization id, name, NPI) of the practice: the active Organization of type prov that has an NPI."""
    found = repository.search("Organization", [("type", f"{systems.ORGANIZATION_TYPE}|{PROVIDER_TYPE}"),
                                               ("_sort", "_id"), ("_count", "50")])
    for stored in found.matches:
        organization = stored.as_dict()
        npi = _identifier(organization, systems.NPI)
        if npi and organization.get("active", True):
            return stored.logical_id, organization.get("name") or stored.logical_id, npi
    raise EligibilityError(
        "The practice's NPI is missing: give the practice's Organization (type prov) an identifier with the "
        f"system {systems.NPI} in the directory, then check again."
    )


def _parties(repository: Repository, coverage_id: str) -> _Parties:
    coverage = repository.read("Coverage", coverage_id).as_dict()
    if coverage.get("status") not in (None, "active"):
        raise EligibilityError(f"This coverage is {coverage.get('status')}: only active coverages are checked.")
    patient_id = _id_of(coverage.get("beneficiary"), "Patient")
    if not patient_id:
        raise EligibilityError("This coverage names no patient (its beneficiary is missing).")
    payer_id = next((_id_of(p, "Organization") for p in coverage.get("payor") or () if _id_of(p, "Organization")), "")
    if not payer_id:
        raise EligibilityError("This coverage names no payer: edit the patient's insurance and choose the payer.")
    member_id = (coverage.get("subscriberId") or "").strip() or _identifier(coverage, systems.MEMBER_ID)
    if not member_id:
        raise EligibilityError("This coverage has no member ID: add it from the insurance card, then check again.")
    patient = repository.read("Patient", patient_id).as_dict()
    payer = repository.read("Organization", payer_id).as_dict()
    payer_name = payer.get("name") or payer_id
    payer_x12_id = _identifier(payer, systems.PAYER_ID)
    if not payer_x12_id:
        raise EligibilityError(f"{payer_name} has no payer ID: add it in the payer directory, then check again.")
    connection = PayerConnection.objects.filter(organization_id=payer_id).first()
    if connection is None:
        raise EligibilityError(f"{payer_name} has no clearinghouse connection set up: an administrator can add one "
                               "in the payer directory.")
    if not connection.active:
        raise EligibilityError(f"The clearinghouse connection of {payer_name} is switched off in the payer directory.")
    subscriber, relationship = patient, ""
    subscriber_reference = (coverage.get("subscriber") or {}).get("reference") or ""
    relation = next((c.get("code") for c in (coverage.get("relationship") or {}).get("coding") or ()
                     if c.get("system") == systems.SUBSCRIBER_RELATIONSHIP), "")
    if subscriber_reference and subscriber_reference != f"Patient/{patient_id}" and relation != "self":
        kind, _, subscriber_id = subscriber_reference.partition("/")
        if kind not in ("Patient", "RelatedPerson") or not subscriber_id:
            raise EligibilityError("The coverage's subscriber must be a patient or a related person.")
        subscriber = repository.read(kind, subscriber_id).as_dict()
        relationship = DEPENDENT_RELATIONSHIPS.get(relation, "34")
    provider_id, provider_name, provider_npi = billing_provider(repository)
    return _Parties(coverage_id, patient_id, patient, subscriber, relationship, member_id, payer_id, payer_name,
                    payer_x12_id, provider_id, provider_name, provider_npi, connection)


def _inquiry(parties: _Parties, control_number: int, trace: str, service_types, service_date: dt.date,
             created: dt.datetime) -> EligibilityInquiry:
    first, last = _name(parties.subscriber)
    dependent = None
    if parties.relationship:
        patient_first, patient_last = _name(parties.patient)
        dependent = Dependent(patient_first, patient_last, _birth_date(parties.patient),
                              GENDERS.get(parties.patient.get("gender", ""), ""), parties.relationship)
    connection = parties.connection
    return EligibilityInquiry(
        payer_name=x12_text(parties.payer_name, 60),
        payer_id=parties.payer_x12_id,
        provider_name=x12_text(parties.provider_name, 60),
        provider_npi=parties.provider_npi,
        subscriber_first_name=first,
        subscriber_last_name=last,
        member_id=parties.member_id,
        date_of_birth=_birth_date(parties.subscriber),
        gender=GENDERS.get(parties.subscriber.get("gender", ""), ""),
        dependent=dependent,
        service_types=list(service_types),
        service_date=service_date,
        trace_number=trace,
        submitter_id=connection.sender_id,
        receiver_id=connection.receiver_id,
        control_number=control_number,
        usage=connection.usage,
        created=created.astimezone(practice.zone()).replace(tzinfo=None),
    )


# -- talking to the payer ------------------------------------------------------------------------


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".")


def _connector_failure(error: ClearinghouseError, parties: _Parties) -> tuple[str, str]:
    payer, timeout = parties.payer_name, parties.connection.timeout_seconds
    if "did not answer" in error.message:
        return NO_ANSWER, f"{payer} did not answer in {timeout} s; try again."
    if error.retryable:
        return NO_ANSWER, f"{payer} could not be reached ({error.message}); try again in a few minutes."
    return NOT_SENT, (f"The inquiry to {payer} could not be completed: {_sentence(error.message)}. "
                      "An administrator can fix the payer's connection in the payer directory.")


def _as_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _isa_control_number(text: str) -> str:
    """ISA13 of an interchange when the file starts with a readable ISA, else ""."""
    head = text.lstrip()
    if not head.startswith("ISA") or len(head) < 106:
        return ""
    parts = head[:106].split(head[3])
    return parts[13].strip()[:9] if len(parts) > 13 else ""


def _answer_for(results: list[EligibilityResult], trace: str, member_id: str) -> EligibilityResult:
    """The result that answers our inquiry: by the echoed trace number, else the member id, else the first."""
    for result in results:
        if any(t.number == trace for t in result.trace_numbers):
            return result
    for result in results:
        if result.member_id and result.member_id.upper() == member_id.upper():
            return result
    return results[0]


def check_eligibility(context: Context, coverage_id: str, *, service_types=("30",),
                      when: dt.date | None = None) -> EligibilitySummary:
    """Ask the payer of `coverage_id` about it for the date of service `when` (today by default).

    Returns the summary of the stored answer, also when the payer rejected the inquiry or no usable
    answer came back (then `status` is "rejected" or "failed" and `messages` say why). Raises
    `EligibilityError` when the check can't be made (no member ID, no payer ID, no connection, no NPI
    ...), `Forbidden` without the permission to record eligibility checks, `NotFound` for an unknown
    coverage; nothing is sent or stored then.

    Call it outside a database transaction: the payer may take its time answering (up to the
    connection's timeout), and nothing should be held locked meanwhile.
    """
    for resource_type in ("CoverageEligibilityRequest", "CoverageEligibilityResponse"):
        access.require(context, resource_type, "create")
    service_types = tuple(dict.fromkeys(service_types)) or ("30",)
    repository = Repository(context)
    parties = _parties(repository, coverage_id)
    service_date = when or practice.today()
    request_id, response_id = str(uuid.uuid4()), str(uuid.uuid4())
    trace = request_id.replace("-", "")
    control_number = ControlNumber.next()
    try:
        request_270 = build_270(_inquiry(parties, control_number, trace, service_types, service_date, clock.now()))
    except X12Error as error:
        raise EligibilityError(f"{_sentence(str(error))}.") from None

    failure: tuple[str, str] | None = None
    answer: bytes | None = None
    result: EligibilityResult | None = None
    try:
        answer = connector_for(parties.connection).exchange(request_270.encode("ascii"), kind="270")
    except ClearinghouseError as error:
        failure = _connector_failure(error, parties)
    answer_text = _as_text(answer) if answer is not None else None
    if answer_text is not None:
        try:
            result = _answer_for(parse_271(answer_text), trace, parties.member_id)
        except X12Error as error:
            failure = (UNREADABLE, f"The answer from {parties.payer_name} could not be read ({error}). "
                                   "The file is kept for support")

    created = clock.now()
    facts = CheckFacts(request_id, response_id, parties.patient_id, coverage_id, parties.payer_id, parties.payer_name,
                       parties.provider_id, service_date, created, service_types, trace)
    with transaction.atomic():
        Interchange.objects.create(direction=Interchange.OUTBOUND, kind="270", control_number=str(control_number),
                                   payer_id=parties.payer_id, request_id=request_id, content=request_270,
                                   created=created)
        if answer_text is not None:
            received = Interchange.objects.create(
                direction=Interchange.INBOUND, kind="271", control_number=_isa_control_number(answer_text),
                payer_id=parties.payer_id, request_id=request_id, content=answer_text, created=created)
            if failure and failure[0] == UNREADABLE:
                failure = (UNREADABLE, f"{failure[1]} as file {received.pk}.")
        response = failed_response(facts, *failure) if failure else answered_response(facts, result)
        with repository.atomic():
            repository.create(request_resource(facts), logical_id=request_id)
            stored = repository.create(response, logical_id=response_id).stored
        summary = summary_of(stored.as_dict())
        EligibilityCheck.objects.create(
            coverage_id=coverage_id, patient_id=parties.patient_id, payer_id=parties.payer_id, request_id=request_id,
            response_id=response_id, status=summary.status, answered=summary.answered, service_date=service_date,
            checked_at=created, checked_on=practice.day_of(created))
        # What was disclosed to the payer, for the accounting of disclosures.
        audit.record(context, "read", patient_id=parties.patient_id, resource_type="Coverage",
                     resource_ids=[f"Coverage/{coverage_id}", f"Patient/{parties.patient_id}"],
                     query=f"eligibility inquiry (270) sent to {parties.payer_name}")
    return summary


# -- the payer directory -------------------------------------------------------------------------


@dataclass
class PayerDetails:
    """What the directory shows of a payer Organization."""

    name: str
    payer_id: str  # the X12 payer id (NM109 of loop 2100A)
    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    phone: str = ""


ROUTING_FIELDS = ("transport", "url", "host", "port", "username", "password", "host_key", "ca_file", "sender_id",
                  "receiver_id", "submitter_name", "usage", "timeout_seconds", "active", "timely_filing_days")
_PAYER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .-]{0,79}")
_ISA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,14}")
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
                   r"|\[?[0-9A-Fa-f:.]+\]?")
_STATE = re.compile(r"[A-Za-z]{2}")
_POSTAL = re.compile(r"[0-9]{5}(-?[0-9]{4})?")
MAX_TIMEOUT = 120


def payer_problems(repository: Repository, details: PayerDetails, organization_id: str | None) -> dict[str, str]:
    """What is wrong with `details`, by field name; empty when nothing is."""
    problems: dict[str, str] = {}
    if not details.name.strip():
        problems["name"] = "Enter the payer's name."
    elif len(details.name) > 200:
        problems["name"] = "Keep the name under 200 characters."
    payer_id = details.payer_id.strip()
    if not payer_id:
        problems["payer_id"] = "Enter the payer ID the clearinghouse lists for this payer."
    elif not _PAYER_ID.fullmatch(payer_id):
        problems["payer_id"] = "A payer ID is letters and digits (dots, dashes and spaces allowed), up to 80."
    else:
        found = repository.search("Organization", [("identifier", f"{systems.PAYER_ID}|{payer_id}"),
                                                   ("_count", "5")])
        others = [s for s in found.matches if s.logical_id != organization_id]
        if others:
            problems["payer_id"] = (f"{others[0].as_dict().get('name') or others[0].logical_id} already has the "
                                    f"payer ID {payer_id}.")
    if details.state.strip() and not _STATE.fullmatch(details.state.strip()):
        problems["state"] = "Use the two-letter state code, such as IL."
    if details.postal_code.strip() and not _POSTAL.fullmatch(details.postal_code.strip()):
        problems["postal_code"] = "Use a ZIP code such as 62701 or 62701-1234."
    phone = details.phone.strip()
    if phone and (not re.fullmatch(r"[0-9()+. -]+", phone) or len(re.sub(r"\D", "", phone)) < 7):
        problems["phone"] = "Enter a phone number of at least 7 digits, such as 555-0100."
    return problems


def _url_problem(url: str) -> str | None:
    if not url:
        return "Enter the clearinghouse's HTTPS address."
    scheme = urlsplit(url).scheme.lower()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return "This is not a web address: enter a full address such as https://clearinghouse.example.com/core."
    if scheme != "https":
        return "Use an https:// address: eligibility data is never sent without encryption (TLS)."
    return None


def _host_key_problem(host_key: str) -> str | None:
    import asyncssh

    if not host_key.strip():
        return "Paste the SFTP server's host key; without it the server can't be told from an impostor."
    try:
        asyncssh.import_public_key(host_key.strip())
    except (asyncssh.KeyImportError, ValueError):
        return "This is not an OpenSSH public key line: it should look like 'ssh-ed25519 AAAA...'."
    return None


def routing_problems(routing: dict, existing: PayerConnection | None = None) -> dict[str, str]:
    """What is wrong with a payer's clearinghouse routing, by field name; empty when nothing is."""
    problems: dict[str, str] = {}
    transport = routing.get("transport") or ""
    value = lambda name: str(routing.get(name) or "").strip()  # noqa: E731
    if transport not in dict(PayerConnection.TRANSPORTS):
        problems["transport"] = "Choose how this payer is reached."
    for name, what in (("sender_id", "your submitter ID (ISA06)"), ("receiver_id", "the receiver ID (ISA08)")):
        if not value(name):
            problems[name] = f"Enter {what}, as the clearinghouse assigned it."
        elif not _ISA_ID.fullmatch(value(name)):
            problems[name] = "Use up to 15 letters or digits (spaces, dots, dashes allowed)."
    if len(value("submitter_name")) > 60:
        problems["submitter_name"] = "Keep the submitter name under 60 characters."
    usage = routing.get("usage") or ""
    if usage not in dict(PayerConnection.USAGES):
        problems["usage"] = "Choose Test (T) or Production (P)."
    elif transport == PayerConnection.STANDIN and usage == PayerConnection.PRODUCTION:
        problems["usage"] = "The built-in stand-in payer is for demos and tests: use Test (T) with it."
    timeout = routing.get("timeout_seconds")
    if timeout in (None, ""):
        problems["timeout_seconds"] = "Enter how long to wait for the payer, in seconds."
    elif not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT:
        problems["timeout_seconds"] = f"Wait between 1 and {MAX_TIMEOUT} seconds."
    filing = routing.get("timely_filing_days")
    if filing not in (None, "") and (not isinstance(filing, int) or not 30 <= filing <= 3650):
        problems["timely_filing_days"] = "Enter the payer's filing limit in days, between 30 and 3650 (365 is usual)."
    has_password = bool(value("password")) or bool(existing and existing.has_password)
    if transport == PayerConnection.HTTPS:
        problem = _url_problem(value("url"))
        if problem:
            problems["url"] = problem
        if not value("username"):
            problems["username"] = "Enter the user name the clearinghouse gave you."
        if not has_password:
            problems["password"] = "Enter the password the clearinghouse gave you."
        if value("ca_file") and not Path(value("ca_file")).is_file():
            problems["ca_file"] = "There is no file at this path on the server: check the path, or leave it empty."
    elif transport == PayerConnection.SFTP:
        if not value("host"):
            problems["host"] = "Enter the SFTP server's host name."
        elif not _HOST.fullmatch(value("host")):
            problems["host"] = "Enter a host name such as sftp.clearinghouse.example.com (no https:// or path)."
        port = routing.get("port")
        if port not in (None, "") and (not isinstance(port, int) or not 1 <= port <= 65535):
            problems["port"] = "A port is a number from 1 to 65535 (SFTP usually uses 22)."
        if not value("username"):
            problems["username"] = "Enter the SFTP user name the clearinghouse gave you."
        if not has_password:
            problems["password"] = "Enter the SFTP password the clearinghouse gave you."
        problem = _host_key_problem(value("host_key"))
        if problem:
            problems["host_key"] = problem
    return problems


def _payer_resource(current: dict | None, details: PayerDetails, organization_id: str) -> dict:
    resource = dict(current or {"resourceType": "Organization", "active": True})
    resource["id"] = organization_id
    resource.pop("meta", None)
    resource["name"] = details.name.strip()
    types = list(resource.get("type") or [])
    if not any(c.get("system") == systems.ORGANIZATION_TYPE and c.get("code") == PAYER_TYPE
               for t in types for c in t.get("coding") or ()):
        types.append({"coding": [{"system": systems.ORGANIZATION_TYPE, "code": PAYER_TYPE, "display": "Payer"}]})
    resource["type"] = types
    identifiers = [i for i in resource.get("identifier") or () if i.get("system") != systems.PAYER_ID]
    resource["identifier"] = [*identifiers, {"system": systems.PAYER_ID, "value": details.payer_id.strip()}]
    address = {key: value for key, value in (
        ("line", [details.address_line.strip()] if details.address_line.strip() else None),
        ("city", details.city.strip()), ("state", details.state.strip().upper()),
        ("postalCode", details.postal_code.strip())) if value}
    others = list(resource.get("address") or [])[1:]
    resource["address"] = ([address] if address else []) + others
    telecom = [t for t in resource.get("telecom") or () if t.get("system") != "phone"]
    if details.phone.strip():
        telecom.insert(0, {"system": "phone", "value": details.phone.strip(), "use": "work"})
    resource["telecom"] = telecom
    return {key: value for key, value in resource.items() if value not in ([], None, "")}


def save_payer(context: Context, details: PayerDetails, routing: dict, *, organization_id: str | None = None) -> str:
    """Create (no `organization_id`) or change a payer and its clearinghouse routing; returns the Organization id.

    `routing` holds the `PayerConnection` fields; an empty password keeps the one stored. Raises
    InvalidRequest naming the field of every problem (nothing is stored then), Forbidden without
    `directory.write`, NotFound for an unknown payer.
    """
    access.require(context, "Organization", "update" if organization_id else "create")
    repository = Repository(context)
    current, version = None, None
    if organization_id:
        stored = repository.read("Organization", organization_id)
        current, version = stored.as_dict(), stored.version_id
    existing = PayerConnection.objects.filter(organization_id=organization_id).first() if organization_id else None
    problems = {**payer_problems(repository, details, organization_id), **routing_problems(routing, existing)}
    if problems:
        raise InvalidRequest([Issue(message, expression=name) for name, message in problems.items()])
    organization_id = organization_id or str(uuid.uuid4())
    fields = {name: routing.get(name) for name in ROUTING_FIELDS if name in routing}
    for name in ("url", "host", "username", "host_key", "ca_file", "sender_id", "receiver_id", "submitter_name"):
        fields[name] = str(fields.get(name) or "").strip()
    if not fields.get("password"):
        fields.pop("password", None)  # keep the stored one
    if fields.get("port") in ("", None):
        fields["port"] = None
    if fields.get("timely_filing_days") in ("", None):
        fields.pop("timely_filing_days", None)  # keep the stored limit (365 for a new payer)
    with transaction.atomic():
        resource = _payer_resource(current, details, organization_id)
        if current is None:
            repository.create(resource, logical_id=organization_id)
        else:
            repository.update("Organization", organization_id, resource, if_match=version)
        connection = existing or PayerConnection(organization_id=organization_id)
        for name, value in fields.items():
            setattr(connection, name, value)
        connection.save()
    return organization_id


def ensure_provider_npi(context: Context, organization_id: str, npi: str) -> bool:
    """Give the practice's Organization its NPI when it has none; True when it was added."""
    from mederi.core.npi import npi_is_valid

    if not npi_is_valid(npi):
        raise InvalidRequest.single(f"{npi!r} is not a valid NPI (10 digits ending in the check digit)",
                                    expression="npi")
    repository = Repository(context)
    stored = repository.read("Organization", organization_id)
    organization = stored.as_dict()
    if _identifier(organization, systems.NPI):
        return False
    organization.pop("meta", None)
    organization["identifier"] = [*(organization.get("identifier") or []), {"system": systems.NPI, "value": npi}]
    repository.update("Organization", organization_id, organization, if_match=stored.version_id)
    return True
