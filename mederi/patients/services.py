"""Writes of registration: register a patient, change their details, merge two charts.

Each service checks what it was given (`rules`), builds the FHIR resources (`records`) and
stores them through the repository in ONE transaction (`with repo.atomic()`): the patient,
their guarantor, coverages and consents are all stored, or — on any error — none of them.
The repository checks the caller's permissions and writes the audit entries of every write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction

from mederi.audit import services as audit
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import Conflict, InvalidRequest, Issue, PreconditionFailed
from mederi.fhir.models import SearchToken
from mederi.fhir.repository import Repository
from mederi.patients import records, rules, selectors
from mederi.patients.models import MrnCounter
from mederi.patients.rules import RegistrationInvalid, has_coverage, text

MRN_PREFIX = "MRN"


class PossibleDuplicate(RegistrationInvalid):
    """The person may already be registered; saving needs a confirmation that they are someone else."""

    def __init__(self, matches: list):
        self.matches = matches
        names = "; ".join(f"{m.hit.name}, born {m.hit.birth_date or 'unknown'}, {m.hit.mrn or 'no MRN'}"
                          for m in matches)
        super().__init__([Issue(f"This may be a patient the practice already has ({names}). Open the chart, "
                                "or confirm that this is a different person.", code="duplicate",
                                expression="distinct_from")], 409)


# -- record numbers ------------------------------------------------------------------------------


def _mrn_number(value: str) -> int | None:
    if value.upper().startswith(MRN_PREFIX) and value[len(MRN_PREFIX):].isdigit():
        return int(value[len(MRN_PREFIX):])
    return None


def highest_mrn_in_record() -> int:
    """The largest MRN<number> any patient holds (imports may have brought their own)."""
    codes = SearchToken.objects.filter(resource_type="Patient", param="identifier", system=systems.mrn_system(),
                                       code__startswith=MRN_PREFIX).values_list("code", flat=True)
    return max((n for n in map(_mrn_number, codes.iterator(chunk_size=5000)) if n is not None), default=0)


def mrns_in_use(values: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), 500):
        found.update(SearchToken.objects.filter(
            resource_type="Patient", param="identifier", system=systems.mrn_system(),
            code__in=values[start:start + 500]).values_list("code", flat=True))
    return found


def allocate_mrns(count: int = 1) -> list[str]:
    """`count` new medical record numbers ("MRN" + the next numbers), unique across the record.

    Taken in a short transaction of their own under the counter's lock; a number is never handed
    out twice, even when the registration that took it fails.
    """
    for _ in range(3):
        try:
            with transaction.atomic():
                counter = MrnCounter.objects.select_for_update().filter(pk=1).first()
                if counter is None:
                    counter = MrnCounter.objects.create(pk=1, last=highest_mrn_in_record())
                numbers = [f"{MRN_PREFIX}{n}" for n in range(counter.last + 1, counter.last + count + 1)]
                if mrns_in_use(numbers):  # someone imported charts with numbers past the counter
                    counter.last = max(counter.last, highest_mrn_in_record())
                    numbers = [f"{MRN_PREFIX}{n}" for n in range(counter.last + 1, counter.last + count + 1)]
                counter.last += count
                counter.save(update_fields=["last"])
                return numbers
        except IntegrityError:  # two first registrations created the counter at once: read it again
            continue
    raise Conflict("could not take a medical record number; try again")


# -- registration --------------------------------------------------------------------------------


def _today(today: date | None) -> date:
    return today or selectors.today()


def _payer_names(context: Context, data) -> dict[str, str] | None:
    """Payer Organization id -> name, when the registration names a coverage; else None (not needed)."""
    if not (has_coverage(data, "primary") or has_coverage(data, "secondary")):
        return None
    return {payer.id: payer.name for payer in selectors.payers(context)}


@dataclass
class _Staged:
    """Resources of one registration, each with the id it is created under."""

    resources: list[tuple[str, dict]]
    patient_id: str


def _new_id() -> str:
    return str(uuid.uuid4())


def build_registration(data, mrn: str, payer_names: dict[str, str], today: date, moment: str,
                       patient_id: str | None = None, *, with_consents: bool = True) -> _Staged:
    """Every resource a registration stores (valid data assumed), with new ids.

    Without `with_consents` no Consent is written (an import knows nothing of what the patient agreed to).
    """
    patient_id = patient_id or _new_id()
    staged = [(patient_id, records.new_patient(data, mrn, today))]
    guarantor = records.guarantor(data, patient_id)
    guarantor_key = None
    if guarantor:
        guarantor_id = _new_id()
        staged.append((guarantor_id, guarantor))
        guarantor_key = (rules.text(data, "guarantor_family").lower(), rules.text(data, "guarantor_given").lower())
    for order in ("primary", "secondary"):
        if not has_coverage(data, order):
            continue
        holder = records.subscriber(data, order, patient_id, today)
        subscriber_ref = f"Patient/{patient_id}"
        if holder:
            key = (text(data, f"{order}_subscriber_family").lower(), text(data, f"{order}_subscriber_given").lower())
            if key == guarantor_key:  # the guarantor holds the policy too: one person, one RelatedPerson
                holder_id = guarantor_id
                person = next(r for i, r in staged if i == guarantor_id)
                person["relationship"] = person["relationship"] + [records.SUBSCRIBER_ROLE]
                if holder.get("birthDate"):
                    person["birthDate"] = holder["birthDate"]
            else:
                holder_id = _new_id()
                staged.append((holder_id, holder))
            subscriber_ref = f"RelatedPerson/{holder_id}"
        payer = text(data, f"{order}_payer")
        staged.append((_new_id(), records.coverage(data, order, patient_id, subscriber_ref,
                                                   payer_names.get(payer, ""), today)))
    for consent in records.consents(data, patient_id, moment) if with_consents else ():
        staged.append((_new_id(), consent))
    return _Staged(staged, patient_id)


def check_registration(context: Context, data, today: date | None = None) -> dict[str, str] | None:
    """Raise `RegistrationInvalid` with every problem of `data`; the payer names it needs otherwise."""
    today = _today(today)
    payer_names = _payer_names(context, data)
    issues = rules.registration_issues(data, today, payer_names)
    mrn = text(data, "mrn")
    if mrn and not issues and mrns_in_use([mrn]):
        issues.append(Issue(f"The medical record number {mrn} belongs to another patient.", expression="mrn"))
    rules.require_valid(issues)
    return payer_names


def register_patient(context: Context, data, *, check_duplicates: bool = True, today: date | None = None) -> str:
    """Register a patient from the registration fields; the new Patient's id.

    Stores the Patient (with a new MRN unless `data["mrn"]` brings one), the guarantor, the
    coverages and the consents in one transaction. Raises `RegistrationInvalid` (every problem at
    its field) or `PossibleDuplicate` (confirm with `data["distinct_from"]` = the ids shown); nothing
    is stored then.
    """
    today = _today(today)
    payer_names = check_registration(context, data, today) or {}
    if check_duplicates:
        confirmed = set(data.get("distinct_from") or ())
        unconfirmed = [m for m in selectors.possible_duplicates(context, data) if m.id not in confirmed]
        if unconfirmed:
            raise PossibleDuplicate(unconfirmed)
    mrn = text(data, "mrn") or allocate_mrns(1)[0]
    staged = build_registration(data, mrn, payer_names, today, clock.fhir_instant(clock.now()))
    repo = Repository(context)
    with repo.atomic():
        for logical_id, resource in staged.resources:
            repo.create(resource, logical_id=logical_id)
    return staged.patient_id


# -- changing a registration ---------------------------------------------------------------------


def update_patient(context: Context, patient_id: str, data, *, version: int | None = None,
                   with_coverage: bool = True, today: date | None = None) -> None:
    """Change a patient's demographics, emergency contact and (unless not `with_coverage`) their
    primary/secondary coverage.

    `version` is the Patient version the form was filled from: if someone changed the chart
    meanwhile, nothing is stored and `PreconditionFailed` says so. A coverage left empty that
    was active is ended (status cancelled, period end today), not deleted.
    """
    today = _today(today)
    repo = Repository(context)
    current = repo.read("Patient", patient_id)
    if version is not None and current.version_id != version:
        raise PreconditionFailed("Someone changed this patient's details while you were editing; "
                                 "reload the page and make your change again.")
    if with_coverage:
        payer_names = _payer_names(context, data)
        issues = rules.registration_issues(data, today, payer_names, with_guarantor=False, with_consents=False)
    else:
        payer_names, issues = None, rules.demographic_issues(data, today)
    rules.require_valid(issues)
    payer_names = payer_names or {}
    chart = selectors.patient_chart(context, patient_id, audit_as=None)
    by_order = records.active_by_order(chart.coverage_resources)
    with repo.atomic():
        patient = records.apply_demographics(current.as_dict(), data, today)
        repo.update("Patient", patient_id, patient, if_match=current.version_id)
        for order in ("primary", "secondary") if with_coverage else ():
            existing = by_order.get(order)
            if has_coverage(data, order):
                _save_coverage(repo, data, order, patient_id, existing, chart.related, payer_names, today)
            elif existing is not None:
                ended = {**existing, "status": "cancelled",
                         "period": {**(existing.get("period") or {}), "end": today.isoformat()}}
                repo.update("Coverage", existing["id"], ended)


def _save_coverage(repo: Repository, data, order: str, patient_id: str, existing: dict | None,
                   related: dict[str, dict], payer_names: dict[str, str], today: date) -> None:
    subscriber_ref = f"Patient/{patient_id}"
    current_holder_ref = ((existing or {}).get("subscriber") or {}).get("reference", "")
    holder_existing = related.get(current_holder_ref)
    holder = records.subscriber(data, order, patient_id, today, existing=holder_existing)
    if holder:
        if holder_existing is not None:
            holder_id = holder_existing["id"]
            repo.update("RelatedPerson", holder_id, holder)
        else:
            holder_id = _new_id()
            repo.create(holder, logical_id=holder_id)
        subscriber_ref = f"RelatedPerson/{holder_id}"
    payer = text(data, f"{order}_payer")
    resource = records.coverage(data, order, patient_id, subscriber_ref, payer_names.get(payer, ""), today,
                                existing=existing)
    if existing is not None:
        repo.update("Coverage", existing["id"], resource)
    else:
        repo.create(resource, logical_id=_new_id())


# -- merging -------------------------------------------------------------------------------------


@dataclass
class MergeResult:
    survivor_id: str
    duplicate_id: str
    moved: list[str]  # references of the resources now pointing at the survivor


def repoint(node, old: str, new: str):
    """`node` (parsed JSON) with every reference to Patient/`old` made to Patient/`new`, and whether any was."""
    changed = False

    def walk(value):
        nonlocal changed
        if isinstance(value, dict):
            result = {}
            for key, item in value.items():
                if key == "reference" and isinstance(item, str) and _refers_to(item, old):
                    changed = True
                    result[key] = f"Patient/{new}"
                else:
                    result[key] = walk(item)
            return result
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(node), changed


def _refers_to(reference: str, patient_id: str) -> bool:
    base = reference.split("/_history/", 1)[0]
    return base == f"Patient/{patient_id}" or base.endswith(f"/Patient/{patient_id}")


def _merged_into(patient: dict) -> str | None:
    for link in patient.get("link") or ():
        if link.get("type") == "replaced-by":
            return (link.get("other") or {}).get("reference", "").split("/")[-1]
    return None


def check_merge(context: Context, survivor_id: str, duplicate_id: str):
    """Both Patients as stored, when the one may be merged into the other; a clear error otherwise."""
    if not survivor_id or not duplicate_id:
        raise InvalidRequest.single("Choose both the chart to keep and the duplicate.", expression="duplicate")
    if survivor_id == duplicate_id:
        raise InvalidRequest.single("Choose two different patients: a chart cannot be merged into itself.",
                                    expression="duplicate")
    repo = Repository(context)
    survivor, duplicate = repo.read("Patient", survivor_id), repo.read("Patient", duplicate_id)
    if _merged_into(duplicate.as_dict()):
        raise Conflict(f"Patient/{duplicate_id} was already merged into Patient/{_merged_into(duplicate.as_dict())}.")
    if _merged_into(survivor.as_dict()):
        raise Conflict(f"Patient/{survivor_id} was itself merged into Patient/{_merged_into(survivor.as_dict())}; "
                       "keep that chart instead.")
    return survivor, duplicate


def merge_patients(context: Context, survivor_id: str, duplicate_id: str) -> MergeResult:
    """Move everything that refers to the duplicate onto the survivor, in one transaction.

    Each resource is updated through the repository (a new version; the old one stays in its
    history). The duplicate is kept, inactive, with `link` replaced-by the survivor; the survivor
    gets `link` replaces the duplicate, the duplicate's MRN as an old identifier, and any
    restricted label the duplicate carried. One audit entry records the merge itself.
    """
    repo = Repository(context)
    survivor_stored, duplicate_stored = check_merge(context, survivor_id, duplicate_id)
    survivor, duplicate = survivor_stored.as_dict(), duplicate_stored.as_dict()
    moved = []
    with repo.atomic():
        # Every resource, not only those the caller may see: each is read as the caller, so a merge
        # that cannot move everything is refused as a whole instead of leaving records behind.
        for resource_type, logical_id in selectors.references_to(None, duplicate_id):
            if resource_type == "Patient" and logical_id == survivor_id:
                continue  # the survivor is rewritten below, with its links
            stored = repo.read(resource_type, logical_id)
            body, changed = repoint(stored.as_dict(), duplicate_id, survivor_id)
            if changed:
                repo.update(resource_type, logical_id, body, if_match=stored.version_id)
                moved.append(stored.reference)
        survivor, _ = repoint(survivor, duplicate_id, survivor_id)
        survivor["link"] = [*(survivor.get("link") or ()),
                            {"other": {"reference": f"Patient/{duplicate_id}"}, "type": "replaces"}]
        old_mrn = records.mrn_of(duplicate)
        if old_mrn:
            survivor["identifier"] = [*(survivor.get("identifier") or ()),
                                      {**records.mrn_identifier(old_mrn), "use": "old"}]
        labels = [c for c in (duplicate.get("meta") or {}).get("security") or ()
                  if c not in ((survivor.get("meta") or {}).get("security") or ())]
        if labels:
            survivor["meta"] = {**(survivor.get("meta") or {}),
                                "security": [*((survivor.get("meta") or {}).get("security") or ()), *labels]}
        duplicate["active"] = False
        duplicate["link"] = [*(duplicate.get("link") or ()),
                             {"other": {"reference": f"Patient/{survivor_id}"}, "type": "replaced-by"}]
        repo.update("Patient", survivor_id, survivor, if_match=survivor_stored.version_id)
        repo.update("Patient", duplicate_id, duplicate, if_match=duplicate_stored.version_id)
        repo.flush()  # the transaction is open now: the merge's own entry commits with the writes
        audit.record(context, "update", patient_id=survivor_id, resource_type="Patient",
                     resource_ids=[f"Patient/{survivor_id}", f"Patient/{duplicate_id}", *moved],
                     detail={"merged": duplicate_id, "into": survivor_id})
    return MergeResult(survivor_id, duplicate_id, moved)
