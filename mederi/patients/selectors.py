"""Reads of registration: the search box, the duplicate check, the patient page, the payer list.

Everything is read through the repository, so the caller's permissions and the restricted
charts they may not see are applied by the record before a query runs. What a staff page shows
of patients is audited here, by the selector that fetched it: a "search" entry with the ids
shown, or a "read" entry for the patient page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, OuterRef
from django.utils import timezone

from mederi.audit import services as audit
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.fhir import access
from mederi.fhir.models import Resource, SearchReference, SearchString
from mederi.fhir.repository import Repository
from mederi.fhir.values import normalize_string
from mederi.patients import duplicates, matching, records, rules

TYPEAHEAD_MIN_LENGTH = 2
_COUNT_CAP = 1000  # counting how common a name beginning is stops here: beyond, both are broad
_NOT_MERGED = ("active:not", "false")  # merged (and otherwise retired) charts are not offered
_PHONE_TEXT = re.compile(r"[\d\s().+\-]+")
_WORD = re.compile(r"[^\W\d_][\w'.\-]*", re.UNICODE)


def today() -> date:
    return timezone.localdate(clock.now())


def _escape(value: str) -> str:
    """A value as one FHIR search value: its commas, pipes and dollars are not separators."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")


def _search(repo: Repository, resource_type: str, params: list[tuple[str, str]], limit: int) -> list:
    """The first `limit` matches, without a total: the search box needs a page, not a count."""
    result = repo.search(resource_type, [*params, ("_count", str(limit)), ("_total", "none")], first_page_only=True)
    return result.matches


def _prefix_range(text: str) -> tuple[str, str]:
    """[low, high) of the normalised strings that begin with `text`: what an index can seek."""
    low = normalize_string(text)
    return low, low[:-1] + chr(ord(low[-1]) + 1)


def _string_range(param: str, text: str):
    low, high = _prefix_range(text)
    return SearchString.objects.filter(resource_type="Patient", param=param, value__gte=low, value__lt=high,
                                       value__startswith=low)


def _ids_of(pks: list[int]) -> list[str]:
    ids = dict(Resource.objects.filter(pk__in=pks, deleted=False).values_list("pk", "logical_id"))
    return [ids[pk] for pk in pks if pk in ids]


def _patients_beginning_with(prefixes: list[tuple[str, str]], limit: int) -> list[str]:
    """Ids of Patients that have, for every (parameter, text), a value of that string parameter beginning
    with the text; alphabetically by the value that matched, at most `limit`.

    A search box wants the first few names in alphabetical order, at every keystroke. The record's
    search (`name=wri&name=da`) finds every match before it orders them, which at 100,000 patients
    took up to half a second for two short words; here the narrowest prefix walks its range of the
    (resource_type, param, value) index in order and the others are checked per candidate, so the
    walk stops after a page. Only ids come out; the caller hands them to the repository, which
    applies the caller's access (restricted charts) before anything is read.
    """
    if not prefixes or not all(normalize_string(t) for _, t in prefixes):
        return []
    if len(prefixes) > 1:  # the beginning fewest names share leads: fewer candidates to check
        prefixes = sorted(prefixes, key=lambda item: _string_range(*item)[:_COUNT_CAP].count())
    (param, text), others = prefixes[0], prefixes[1:]
    rows = _string_range(param, text)
    for index, (other_param, other_text) in enumerate(others):
        low, high = _prefix_range(other_text)
        also = Exists(SearchString.objects.filter(resource_id=OuterRef("resource_id"), resource_type="Patient",
                                                  param=other_param, value__gte=low, value__lt=high,
                                                  value__startswith=low))
        rows = rows.alias(**{f"also{index}": also}).filter(**{f"also{index}": True})
    pks: list[int] = []
    for pk in rows.order_by("value").values_list("resource_id", flat=True)[: limit * 4]:
        if pk not in pks:
            pks.append(pk)
            if len(pks) == limit:
                break
    return _ids_of(pks)


def _by_ids(repo: Repository, ids: list[str], params: list[tuple[str, str]]) -> list:
    """The Patients among `ids` the caller may see that also match `params`, in the order of `ids`."""
    if not ids:
        return []
    found = {s.logical_id: s for s in _search(repo, "Patient", [("_id", ",".join(ids)), *params], len(ids))}
    return [found[i] for i in ids if i in found]


def _name_begins_with(patient: dict, words: list[str]) -> bool:
    """Every word begins one of the patient's names (family, given, prefix, suffix, or the whole name)."""
    parts = []
    for name in patient.get("name") or ():
        pieces = [*(name.get("prefix") or ()), *(name.get("given") or ()), name.get("family") or "",
                  *(name.get("suffix") or ())]
        parts += [normalize_string(p) for p in [*pieces, name.get("text") or "", " ".join(filter(None, pieces))] if p]
    return all(any(part.startswith(normalize_string(word)) for part in parts) for word in words)


# -- the search box ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientHit:
    id: str
    name: str
    birth_date: str | None
    mrn: str | None
    phone: str | None
    matched: str = ""  # what the text matched: name, birth date, phone, MRN, member id
    display: str = ""  # the name given first: Peter Chalmers

    @property
    def reference(self) -> str:
        return f"Patient/{self.id}"


def hit_of(patient: dict, matched: str = "") -> PatientHit:
    name = records.official_name(patient)
    given = " ".join(name.get("given") or ())
    shown = f"{name.get('family')}, {given}".strip(", ") if name.get("family") else records.display_name(patient)
    return PatientHit(patient["id"], shown, patient.get("birthDate"), records.mrn_of(patient),
                      records.telecom_value(patient, "phone"), matched, records.display_name(patient))


@dataclass(frozen=True)
class _Lookup:
    matched: str
    params: list[tuple[str, str]] = field(default_factory=list)  # a repository search
    prefixes: list[tuple[str, str]] = field(default_factory=list)  # (string parameter, beginning) all to match
    born: str | None = None  # a date of birth, YYYY-MM-DD


def typeahead_plan(text: str, on: date | None = None) -> list[_Lookup]:
    """The searches a typed text stands for, most specific first.

    'MRN1000' is a record number or member id; '555-123-4567' a phone; '12/25/1974' a date of
    birth; 'chal pet' the beginnings of a family and a given name, and 'chalmers 1974-12-25'
    a name with a date of birth.
    """
    text = " ".join(text.split())
    if len(text) < TYPEAHEAD_MIN_LENGTH:
        return []
    on = on or today()
    plans = []
    digits = re.sub(r"\D", "", text)
    if " " not in text and digits:
        values = list(dict.fromkeys([text, text.upper()] + ([f"MRN{text}"] if text.isdigit() else [])))
        mrn = systems.mrn_system()
        plans.append(_Lookup("MRN", [("identifier", ",".join(f"{mrn}|{_escape(v)}" for v in values))]))
        plans.append(_Lookup("member id", [("_has:Coverage:beneficiary:identifier",
                                             ",".join(f"{systems.MEMBER_ID}|{_escape(v)}" for v in values[:2]))]))
    born = matching.parse_date(text, on)
    if born:
        plans.append(_Lookup("birth date", born=born.isoformat()))
    elif _PHONE_TEXT.fullmatch(text) and 7 <= len(digits) <= 11:
        plans.append(_Lookup("phone", [("phone", ",".join(_escape(v) for v in matching.phone_variants(text)))]))
    words, dates = [], []
    for token in re.split(r"[\s,]+", text):
        when = matching.parse_date(token, on)
        if when:
            dates.append(when)
        elif _WORD.fullmatch(token):
            words.append(token)
    if words and not (len(words) == 1 and digits and " " not in text):
        plans.append(_Lookup("name", prefixes=[("name", word) for word in words[:4]],
                             born=dates[0].isoformat() if dates else None))
    return plans


def _run(repo: Repository, plan: _Lookup, limit: int) -> list:
    """The Patients (as stored) a lookup finds, the caller's access applied, merged charts left out."""
    if plan.born:  # the few born that day, by name (and only those whose name begins so, if given)
        words = [word for _, word in plan.prefixes]
        matches = [m for m in _search(repo, "Patient", [("birthdate", plan.born), _NOT_MERGED], max(limit, 200))
                   if _name_begins_with(m.as_dict(), words)]
        matches.sort(key=lambda m: hit_of(m.as_dict()).name.lower())
        return matches[:limit]
    if plan.prefixes:  # every word begins one of the names
        return _by_ids(repo, _patients_beginning_with(plan.prefixes, limit), [_NOT_MERGED])
    return _search(repo, "Patient", [*plan.params, _NOT_MERGED], limit)


def typeahead(context: Context, text: str, limit: int = 10) -> list[PatientHit]:
    """Patients matching what was typed so far (name, date of birth, phone, MRN or member id); audited."""
    plans = typeahead_plan(text)
    if not plans:
        return []
    repo = Repository(context)
    hits: dict[str, PatientHit] = {}
    for plan in plans:
        if plan.matched == "member id" and not access.allows(context, "Coverage", "search"):
            continue  # someone who may not see insurance does not search by it
        matches = _run(repo, plan, limit)
        for stored in matches:
            if stored.logical_id not in hits:
                hits[stored.logical_id] = hit_of(stored.as_dict(), plan.matched)
        if len(hits) >= limit:
            break
    shown = list(hits.values())[:limit]
    audit.record(context, "search", patient_id=shown[0].id if len(shown) == 1 else None, resource_type="Patient",
                 resource_ids=[hit.reference for hit in shown], query=f"ui: patient search '{' '.join(text.split())}'")
    return shown


# -- duplicates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateMatch:
    hit: PatientHit
    score: float
    reasons: list[str]

    @property
    def id(self) -> str:
        return self.hit.id


def _candidate_lookups(data, probe: duplicates.Probe) -> list[_Lookup]:
    """Cheap indexed lookups that between them find anyone likely to be the same person:
    the same date of birth, the same phone, or the same beginning of the family name and given initial."""
    lookups = []
    if probe.birth_date:
        lookups.append(_Lookup("birth date", born=probe.birth_date))
    if len(probe.phone) >= 7:
        lookups.append(_Lookup("phone", [("phone", ",".join(_escape(v) for v in matching.phone_variants(probe.phone)))]))
    family = " ".join(rules.text(data, "family").split())
    if len(family) >= 2:
        prefixes = [("family", family[:4])]
        if probe.given:
            prefixes.append(("given", probe.given[:1]))
        lookups.append(_Lookup("name", prefixes=prefixes))
    return lookups


def possible_duplicates(context: Context, data, *, exclude=(), limit: int = 5) -> list[DuplicateMatch]:
    """Patients who may be the person described by registration `data`, most likely first; audited."""
    probe = duplicates.Probe.from_registration(data, today())
    lookups = _candidate_lookups(data, probe)
    if not lookups:
        return []
    repo = Repository(context)
    seen: dict[str, dict] = {}
    for lookup in lookups:
        for stored in _run(repo, lookup, 50):
            if stored.logical_id not in exclude:
                seen.setdefault(stored.logical_id, stored.as_dict())
    found = []
    for patient in seen.values():
        value, reasons = duplicates.score(probe, patient)
        if value >= duplicates.THRESHOLD:
            found.append(DuplicateMatch(hit_of(patient, "possible duplicate"), value, reasons))
    found.sort(key=lambda m: (-m.score, m.hit.name))
    shown = found[:limit]
    if shown:
        audit.record(context, "search", patient_id=shown[0].id if len(shown) == 1 else None,
                     resource_type="Patient", resource_ids=[m.hit.reference for m in shown],
                     query="ui: possible duplicates while registering")
    return shown


# -- payers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payer:
    id: str
    name: str
    payer_id: str | None  # the X12 payer id


def payers(context: Context) -> list[Payer]:
    """Insurance companies in the directory (Organizations of type 'pay'), by name."""
    stored = _search(Repository(context), "Organization",
                     [("type", f"{systems.ORGANIZATION_TYPE}|pay")], 1000)
    found = []
    for item in stored:
        org = item.as_dict()
        if org.get("active") is False:
            continue
        x12 = next((i.get("value") for i in org.get("identifier") or () if i.get("system") == systems.PAYER_ID), None)
        found.append(Payer(item.logical_id, org.get("name") or item.logical_id, x12))
    return sorted(found, key=lambda p: p.name.lower())


# -- the patient page ----------------------------------------------------------------------------


@dataclass
class CoverageView:
    id: str
    order: str
    status: str
    payer_id: str
    payer_name: str
    member_id: str
    group_number: str
    relationship: str
    subscriber: str
    start: str
    end: str


@dataclass
class ConsentView:
    id: str
    words: str
    date: str
    status: str


@dataclass
class PatientChart:
    id: str
    version: int
    patient: dict
    hit: PatientHit
    coverages: list[CoverageView] = field(default_factory=list)
    coverage_resources: list[dict] = field(default_factory=list)
    related: dict[str, dict] = field(default_factory=dict)  # "RelatedPerson/x" -> resource
    consents: list[ConsentView] = field(default_factory=list)
    reminders: dict[str, bool] = field(default_factory=dict)
    merged_into: str | None = None

    @property
    def guarantors(self) -> list[dict]:
        return [p for p in self.related.values()
                if any(c.get("code") == "GUAR" for r in p.get("relationship") or () for c in r.get("coding") or ())]

    @property
    def emergency_contacts(self) -> list[dict]:
        return [c for c in self.patient.get("contact") or () if records.is_emergency_contact(c)]

    def form_fields(self) -> dict:
        return records.fields_of_chart(self.patient, self.coverage_resources, self.related)


def _coverage_view(resource: dict, slot: str | None, payer_names: dict[str, str],
                   related: dict[str, dict]) -> CoverageView:
    payer_ref = ((resource.get("payor") or [{}])[0].get("reference") or "")
    fields = records.coverage_fields_of("c", resource, related)
    relationship = fields["c_subscriber_relationship"]
    holder = related.get((resource.get("subscriber") or {}).get("reference", ""))
    slot = slot or {1: "primary", 2: "secondary"}.get(resource.get("order"))
    return CoverageView(
        id=resource["id"], order=slot.capitalize() if slot else "Insurance", status=resource.get("status", ""),
        payer_id=payer_ref.split("/")[-1],
        payer_name=payer_names.get(payer_ref) or ((resource.get("payor") or [{}])[0].get("display") or payer_ref),
        member_id=fields["c_member_id"], group_number=fields["c_group_number"], relationship=relationship,
        subscriber="the patient" if relationship == "self" else (records.display_name(holder) if holder else ""),
        start=(resource.get("period") or {}).get("start", ""), end=(resource.get("period") or {}).get("end", ""),
    )


def patient_chart(context: Context, patient_id: str, *, audit_as: str | None = "ui: patient page") -> PatientChart:
    """A patient's registration: demographics, contacts, guarantor, coverages and consents; audited."""
    repo = Repository(context)
    stored = repo.read("Patient", patient_id)
    patient = stored.as_dict()
    chart = PatientChart(patient_id, stored.version_id, patient, hit_of(patient))
    chart.merged_into = next(((link.get("other") or {}).get("reference", "").split("/")[-1]
                              for link in patient.get("link") or () if link.get("type") == "replaced-by"), None)
    shown = [stored.reference]
    if access.allows(context, "RelatedPerson", "search"):
        for item in _search(repo, "RelatedPerson", [("patient", patient_id)], 100):
            chart.related[item.reference] = item.as_dict()
            shown.append(item.reference)
    if access.allows(context, "Coverage", "search"):
        result = repo.search("Coverage", [("beneficiary", patient_id), ("_include", "Coverage:payor"),
                                          ("_count", "50"), ("_total", "none")])
        payer_names = {i.reference: i.as_dict().get("name", i.logical_id) for i in result.included}
        coverages = [item.as_dict() for item in result.matches]
        slots = {c["id"]: slot for slot, c in records.active_by_order(coverages).items()}
        rank = {"primary": 0, "secondary": 1}
        coverages.sort(key=lambda c: (rank.get(slots.get(c["id"]), 2), c.get("period", {}).get("start", "")))
        chart.coverage_resources = coverages
        chart.coverages = [_coverage_view(c, slots.get(c["id"]), payer_names, chart.related) for c in coverages]
        shown += [f"Coverage/{c['id']}" for c in coverages]
    if access.allows(context, "Consent", "search"):
        for item in _search(repo, "Consent", [("patient", patient_id)], 100):
            consent = item.as_dict()
            shown.append(item.reference)
            if records.is_reminder_consent(consent):
                chart.reminders = records.reminder_channels(consent)
            words = (consent.get("policyRule") or {}).get("text") or "Consent"
            chart.consents.append(ConsentView(item.logical_id, words, (consent.get("dateTime") or "")[:10],
                                              consent.get("status", "")))
    if audit_as:
        audit.record(context, "read", patient_id=patient_id, resource_type="Patient", resource_ids=shown,
                     query=audit_as)
    return chart


def contact_preferences(context: Context, patient_id: str) -> dict[str, bool]:
    """May the practice send this patient reminders by SMS and by email: {'sms': bool, 'email': bool}.

    Read from the reminders Consent taken at registration; without one, neither is allowed.
    """
    preferences = {"sms": False, "email": False}
    for item in _search(Repository(context), "Consent", [("patient", patient_id), ("status", "active"),
                                                         ("_sort", "-_lastUpdated")], 20):
        consent = item.as_dict()
        if records.is_reminder_consent(consent):
            preferences.update(records.reminder_channels(consent))
            break
    return preferences


# -- merging -------------------------------------------------------------------------------------


def references_to(context: Context | None, patient_id: str) -> list[tuple[str, str]]:
    """(type, id) of every current resource that refers to Patient/`patient_id`, from the reference index;
    only those `context` may see, unless it is None (a merge must find them all, then read each as the caller)."""
    pks = list(SearchReference.objects.filter(target_type="Patient", target_id=patient_id)
               .values_list("resource_id", flat=True).distinct())
    if not pks:
        return []
    if context is not None:
        pks = sorted(access.visible_pks(context, pks))
    found = []
    for start in range(0, len(pks), 500):
        rows = Resource.objects.filter(pk__in=pks[start:start + 500], deleted=False).exclude(
            resource_type="Patient", logical_id=patient_id).values_list("resource_type", "logical_id")
        found += rows
    return sorted(found)


@dataclass
class MergePreview:
    survivor: PatientChart
    duplicate: PatientChart
    to_move: dict[str, int]  # resource type -> how many of the duplicate's resources move
    hidden: int = 0  # resources of the duplicate the caller may not see (the merge will be refused)

    @property
    def total(self) -> int:
        return sum(self.to_move.values())


def merge_preview(context: Context, survivor_id: str, duplicate_id: str) -> MergePreview:
    """Both charts side by side and what would move from the duplicate to the survivor; audited."""
    survivor = patient_chart(context, survivor_id, audit_as="ui: merge preview")
    duplicate = patient_chart(context, duplicate_id, audit_as="ui: merge preview")
    counts: dict[str, int] = {}
    for resource_type, logical_id in references_to(context, duplicate_id):
        if (resource_type, logical_id) != ("Patient", survivor_id):
            counts[resource_type] = counts.get(resource_type, 0) + 1
    every = [r for r in references_to(None, duplicate_id) if r != ("Patient", survivor_id)]
    return MergePreview(survivor, duplicate, dict(sorted(counts.items())), len(every) - sum(counts.values()))
