"""What every kind of structured entry shares: field errors, dates, the patient and visit checks,
codings, the one transaction that writes, and the audited list reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation

from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import Gone, InvalidRequest, Issue, NotFound
from mederi.fhir.repository import Repository, StoredResource
from mederi.patients import matching


@dataclass
class FieldErrors:
    """Problems found in what was typed, each at its form field; raised together, so a person sees them all."""

    issues: list[Issue] = field(default_factory=list)

    def add(self, field_name: str | None, message: str) -> None:
        self.issues.append(Issue(message, code="invalid", expression=field_name))

    def __bool__(self) -> bool:
        return bool(self.issues)

    def raise_if_any(self) -> None:
        if self.issues:
            raise InvalidRequest(list(self.issues))


def text(data, name: str, limit: int = 200) -> str:
    return " ".join(str(data.get(name) or "").split())[:limit]


def concept(system: str, code: str, display: str = "") -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": display} if display else {})}


def code_of(value: dict | None, system: str) -> str:
    """The code of `system` in a CodeableConcept, or ''."""
    return next((c.get("code", "") for c in (value or {}).get("coding") or () if c.get("system") == system), "")


def words_of(value: dict | None) -> str:
    """How a CodeableConcept reads to a person: its text, else the first display or code."""
    value = value or {}
    if value.get("text"):
        return value["text"]
    for coding in value.get("coding") or ():
        if coding.get("display") or coding.get("code"):
            return coding.get("display") or coding["code"]
    return ""


def decimal_in(data, name: str, label: str, errors: FieldErrors) -> Decimal | None:
    """A number typed in a field, or None when left empty; '12,5' is read as 12.5."""
    raw = text(data, name, 30).replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors.add(name, f"{label}: '{raw}' is not a number.")
        return None
    if not value.is_finite():
        errors.add(name, f"{label}: '{raw}' is not a number.")
        return None
    return value


def date_in(data, name: str, label: str, errors: FieldErrors, *, required: bool = False,
            not_after_today: bool = True) -> date | None:
    raw = text(data, name, 20)
    if not raw:
        if required:
            errors.add(name, f"{label} is needed.")
        return None
    when = matching.parse_date(raw, today())
    if when is None:
        errors.add(name, f"{label}: '{raw}' is not a date; write it like 2024-03-15 or 03/15/2024.")
        return None
    if not_after_today and when > today():
        errors.add(name, f"{label} cannot be in the future ({when.isoformat()}).")
        return None
    return when


def today() -> date:
    return clock.now().date()


def now_instant() -> str:
    return clock.fhir_instant(clock.now())


def date_time_of(day: date | None) -> str:
    """A FHIR dateTime for a recorded day: now when it is today or not given, else the day itself."""
    if day is None or day == today():
        return now_instant()
    return day.isoformat()


def moment_of(value: str | None) -> datetime | None:
    """A FHIR date or dateTime read as a UTC moment (a bare date is its midnight), for ordering and plots."""
    if not value:
        return None
    try:
        if len(value) <= 10:
            parts = [int(p) for p in value.split("-")] + [1, 1]
            return datetime.combine(date(parts[0], parts[1], parts[2]), time(0), timezone.utc)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def check_patient(repo: Repository, patient_id: str) -> None:
    """The patient exists and the caller may reach their chart (NotFound, Gone or Forbidden otherwise)."""
    repo.read("Patient", patient_id)


def encounter_reference(repo: Repository, patient_id: str, encounter_id: str | None, errors: FieldErrors
                        ) -> dict | None:
    """The Reference to the visit being documented, once it is checked to be this patient's."""
    if not encounter_id:
        return None
    try:
        encounter = repo.read("Encounter", encounter_id).as_dict()
    except (NotFound, Gone):
        errors.add("encounter", f"The visit Encounter/{encounter_id} does not exist.")
        return None
    if (encounter.get("subject") or {}).get("reference") != f"Patient/{patient_id}":
        errors.add("encounter", f"The visit Encounter/{encounter_id} is another patient's.")
        return None
    return {"reference": f"Encounter/{encounter_id}"}


def recorder_reference(context: Context) -> dict | None:
    """The signed-in clinician as a Practitioner reference, when their account names one."""
    from mederi.accounts.models import Profile

    if context.user_id is None:
        return None
    practitioner_id = (Profile.objects.filter(user_id=context.user_id)
                       .values_list("practitioner_id", flat=True).first())
    return {"reference": f"Practitioner/{practitioner_id}"} if practitioner_id else None


def write_all(context: Context, creates: list[dict], updates: list[tuple[dict, int]] = ()) -> list[StoredResource]:
    """Create and update resources in one transaction: all of them are stored, or none.

    Updates carry the version they were read at, so a change made meanwhile by someone else
    fails the whole write (409) instead of being overwritten.
    """
    repo = Repository(context)
    stored = []
    with repo.atomic():
        for resource, version in updates:
            stored.append(repo.update(resource["resourceType"], resource["id"], resource, if_match=version).stored)
        for resource in creates:
            stored.append(repo.create(resource).stored)
    return stored


def search(context: Context, resource_type: str, params: list[tuple[str, str]], limit: int) -> list[StoredResource]:
    """The first `limit` matches of an indexed search, without counting them all."""
    result = Repository(context).search(resource_type, [*params, ("_count", str(limit)), ("_total", "none")],
                                        first_page_only=True)
    return result.matches


def audit_shown(context: Context, patient_id: str, resource_type: str, shown: list[StoredResource], what: str) -> None:
    audit.record(context, "search", patient_id=patient_id, resource_type=resource_type,
                 resource_ids=[s.reference for s in shown], query=f"ui: {what} of patient {patient_id}")




def refuse(field_name: str | None, message: str):
    """Stop with one problem at one field."""
    raise InvalidRequest([Issue(message, code="invalid", expression=field_name)])


def owned_by(resource: dict, patient_id: str, *, key: str = "subject") -> bool:
    return (resource.get(key) or {}).get("reference") == f"Patient/{patient_id}"
