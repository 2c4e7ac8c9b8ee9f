"""Who may reach which part of the record: the checks every repository call makes.

Three things decide, all carried by the caller's `Context`:
- the permissions of their roles: every resource type belongs to one group and every
  interaction to one access level, so reading an Observation needs `clinical.read`;
- the SMART scopes of the token they came with (`patient/Observation.rs`, `user/*.cruds`,
  v1 `patient/*.read`), which can only narrow what the roles allow;
- the patient compartment: a patient, or a token launched for one patient, reaches that
  patient's compartment and the shared directory (practitioners, organizations, definitions).

Records of patients labelled restricted (`meta.security` R or V of v3-Confidentiality: staff
members, public figures, sensitive care) stay out of reach until a permitted user breaks the
glass for that patient. Searches get all of this as SQL conditions before they run, so totals
and pages count only what the caller may see.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from django.db import connection

from mederi.core import epoch
from mederi.core.context import Context
from mederi.core.errors import Forbidden, Unauthenticated
from mederi.fhir import indexing, rows, validation
from mederi.fhir.rows import placeholders

GROUP_TYPES: dict[str, frozenset[str]] = {
    # Consents (privacy notice, consent to treat, how to be contacted) are taken at registration.
    "demographics": frozenset({"Patient", "RelatedPerson", "Person", "Consent"}),
    "scheduling": frozenset({"Schedule", "Slot", "Appointment", "AppointmentResponse"}),
    "insurance": frozenset({"Coverage", "CoverageEligibilityRequest", "CoverageEligibilityResponse",
                            "EnrollmentRequest", "EnrollmentResponse"}),
    "financial": frozenset({"Account", "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse",
                            "ExplanationOfBenefit", "Invoice", "PaymentNotice", "PaymentReconciliation"}),
    "directory": frozenset({"Organization", "OrganizationAffiliation", "Location", "Practitioner",
                            "PractitionerRole", "HealthcareService", "Endpoint", "InsurancePlan", "Group"}),
    "security": frozenset({"AuditEvent", "Provenance"}),
}
GROUPS = ("demographics", "clinical", "scheduling", "insurance", "financial", "directory", "security", "definitions")
ACCESS_BY_INTERACTION = {
    "read": "read", "vread": "read", "search": "read", "history": "read", "everything": "read",
    "create": "write", "update": "write", "patch": "write",
    "delete": "delete",
}
# SMART v2 permission letters; v1 `read` is `rs`, `write` is `cud`, `*` all five.
SCOPE_LETTER = {
    "read": "r", "vread": "r", "history": "r", "everything": "r", "search": "s",
    "create": "c", "update": "u", "patch": "u", "delete": "d",
}
_V1_LETTERS = {"read": "rs", "write": "cud", "*": "cruds"}
_VERBS = {"read": "read", "write": "change", "delete": "delete"}

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED_CODES = ("R", "V")
# A patient reaches these resource types without a compartment test: they describe the practice,
# not another patient. (Group is left out: its members are patients.)
SHARED_GROUPS = ("directory", "definitions")


# -- groups and permissions -----------------------------------------------------------------------


@lru_cache(maxsize=None)
def group_of(resource_type: str) -> str:
    for group, types in GROUP_TYPES.items():
        if resource_type in types:
            return group
    return "clinical" if indexing.patient_compartment_params(resource_type) else "definitions"


def permission_for(resource_type: str, interaction: str) -> str:
    """The permission code an interaction on a resource type needs, e.g. `clinical.write`."""
    return f"{group_of(resource_type)}.{ACCESS_BY_INTERACTION[interaction]}"


# -- SMART scopes ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def parse_scope(scope: str) -> tuple[str, str, str] | None:
    """(context, resource type or *, letters) of a SMART resource scope; None for other scopes.

    Granular v2 scopes (`patient/Observation.rs?category=laboratory`) are not granted at all:
    honouring them only partly would hand out more than the person agreed to.
    """
    head, slash, rest = scope.partition("/")
    if not slash or head not in ("patient", "user", "system") or "?" in rest:
        return None
    resource_type, dot, permission = rest.partition(".")
    if not dot or not (resource_type == "*" or validation.is_resource_type(resource_type)):
        return None
    if permission in _V1_LETTERS:
        return head, resource_type, _V1_LETTERS[permission]
    if permission and all(c in "cruds" for c in permission) and list(permission) == sorted(
        permission, key="cruds".index
    ) and len(set(permission)) == len(permission):
        return head, resource_type, permission
    return None


def is_resource_scope(scope: str) -> bool:
    return parse_scope(scope) is not None


@lru_cache(maxsize=4096)
def _scope_letters(scopes: frozenset[str], resource_type: str) -> str:
    letters = set()
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed and parsed[1] in ("*", resource_type):
            letters.update(parsed[2])
    return "".join(sorted(letters))


# -- deciding -------------------------------------------------------------------------------------


def allows(context: Context, resource_type: str, interaction: str) -> bool:
    if context.is_system:
        return True
    if permission_for(resource_type, interaction) not in context.permissions:
        return False
    return context.scopes is None or SCOPE_LETTER[interaction] in _scope_letters(context.scopes, resource_type)


def require(context: Context, resource_type: str, interaction: str) -> None:
    """Raise 401 for an anonymous caller, 403 when roles or token scopes do not allow this."""
    if context.is_system:
        return
    if not context.authenticated:
        raise Unauthenticated()
    if resource_type == "AuditEvent" and ACCESS_BY_INTERACTION[interaction] != "read":
        raise Forbidden("AuditEvent is the audit log: only the server writes it, and nobody changes it")
    permission = permission_for(resource_type, interaction)
    if permission not in context.permissions:
        group, access = permission.split(".")
        raise Forbidden(f"your roles do not allow you to {_VERBS[access]} {group} records "
                        f"({interaction} of {resource_type} needs the permission {permission})")
    if context.scopes is not None and SCOPE_LETTER[interaction] not in _scope_letters(context.scopes, resource_type):
        raise Forbidden(f"the access token does not carry a scope for {interaction} of {resource_type} "
                        f"(for example patient/{resource_type}.{SCOPE_LETTER[interaction]} or "
                        f"user/{resource_type}.{SCOPE_LETTER[interaction]})")


def readable_types(context: Context, interaction: str = "search") -> list[str] | None:
    """The resource types the caller may search; None when that is every type."""
    if context.is_system:
        return None
    types = [t for t in validation.RESOURCE_TYPES if allows(context, t, interaction)]
    return None if len(types) == len(validation.RESOURCE_TYPES) else types


# -- restricted records ---------------------------------------------------------------------------

_restricted_lock = threading.Lock()
_restricted_cache: tuple[int, frozenset[str]] | None = None


def restricted_patients() -> frozenset[str]:
    """Ids of the patients whose records are labelled restricted; cached until the epoch moves."""
    global _restricted_cache
    current = epoch.current()
    cached = _restricted_cache
    if cached is not None and cached[0] == current:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT r.logical_id FROM fhir_idx_token t JOIN fhir_resource r ON r.id = t.resource_id "
            "WHERE t.resource_type = 'Patient' AND t.param = '_security' AND t.system = %s AND t.code IN (%s, %s) "
            "AND r.deleted = %s", [CONFIDENTIALITY, *RESTRICTED_CODES, False])
        found = frozenset(row[0] for row in cursor.fetchall())
    if not connection.in_atomic_block:  # a transaction may still roll its epoch back: cache only committed state
        with _restricted_lock:
            _restricted_cache = (current, found)
    return found


def is_restricted_label(resource: dict) -> bool:
    for coding in (resource.get("meta") or {}).get("security") or ():
        if isinstance(coding, dict) and coding.get("system") == CONFIDENTIALITY and coding.get("code") in RESTRICTED_CODES:
            return True
    return False


def hidden_patients(context: Context) -> list[str]:
    """Restricted patients this caller has no emergency access to (their own record excepted)."""
    if context.is_system:
        return []
    restricted = restricted_patients()
    if not restricted:
        return []
    return sorted(restricted - context.emergency_patients - {context.patient_id})


# -- SQL conditions -------------------------------------------------------------------------------


def _in_compartment(alias: str, resource_type: str | None, patient_ids: list[str]) -> tuple[str, list]:
    """`alias` is in the compartment of one of `patient_ids` (for a type, or for any type)."""
    marks = placeholders(patient_ids)
    own = f"({alias}.resource_type = 'Patient' AND {alias}.logical_id IN ({marks}))"
    if resource_type is not None:
        params = indexing.patient_compartment_params(resource_type)
        member = ""
        if params:
            member = (f"EXISTS (SELECT 1 FROM fhir_idx_reference x WHERE x.resource_id = {alias}.id "
                      f"AND x.param IN ({placeholders(params)}) AND x.target_type = 'Patient' "
                      f"AND x.target_id IN ({marks}))")
        if resource_type == "Patient":
            if not member:
                return own, list(patient_ids)
            return f"({own} OR {member})", [*patient_ids, *params, *patient_ids]
        return (member or "1 = 0"), ([*params, *patient_ids] if member else [])
    pairs, values = _compartment_pairs()
    member = (f"EXISTS (SELECT 1 FROM fhir_idx_reference x WHERE x.resource_id = {alias}.id "
              f"AND x.target_type = 'Patient' AND x.target_id IN ({marks}) AND ({pairs}))")
    return f"({own} OR {member})", [*patient_ids, *patient_ids, *values]


@lru_cache(maxsize=None)
def _compartment_pairs() -> tuple[str, tuple]:
    """(resource type, compartment parameter) pairs of every type, as one OR over index rows `x`."""
    pairs, values = [], []
    for rtype in validation.RESOURCE_TYPES:
        params = indexing.patient_compartment_params(rtype)
        if params:
            pairs.append(f"(x.resource_type = %s AND x.param IN ({placeholders(params)}))")
            values += [rtype, *params]
    return " OR ".join(pairs), tuple(values)


@lru_cache(maxsize=None)
def _shared_types() -> tuple[str, ...]:
    return tuple(t for t in validation.RESOURCE_TYPES if group_of(t) in SHARED_GROUPS and t != "Group")


def visibility(context: Context, resource_type: str | None, alias: str = "r",
               interaction: str = "search") -> tuple[str, list] | None:
    """The SQL condition on `fhir_resource {alias}` for what the caller may see; None for all."""
    if context.is_system:
        return None
    conditions: list[tuple[str, list]] = []
    if resource_type is None:
        types = readable_types(context, interaction)
        if types is not None:
            conditions.append((f"{alias}.resource_type IN ({placeholders(types)})", types) if types else ("1 = 0", []))
    if context.patient_id is not None:
        own, values = _in_compartment(alias, resource_type, [context.patient_id])
        if resource_type is None:
            shared = _shared_types()
            conditions.append((f"({own} OR {alias}.resource_type IN ({placeholders(shared)}))", [*values, *shared]))
        elif resource_type == "Group" or group_of(resource_type) not in SHARED_GROUPS:
            conditions.append((own, values))
    hidden = hidden_patients(context)
    if hidden:
        sql, values = _in_compartment(alias, resource_type, hidden)
        conditions.append((f"NOT {sql}", values))
    if not conditions:
        return None
    return " AND ".join(f"({sql})" for sql, _ in conditions), [v for _, values in conditions for v in values]


def visible_pks(context: Context, pks: list[int], interaction: str = "read") -> set[int]:
    """Those of `pks` (fhir_resource ids) the caller may see."""
    condition = visibility(context, None, "r", interaction)
    if condition is None:
        return set(pks)
    found: set[int] = set()
    sql, values = condition
    for chunk in rows.chunks(pks):
        among, chunk_values = rows.one_of("r.id", chunk)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT r.id FROM fhir_resource r WHERE {among} AND {sql}", [*chunk_values, *values])
            found.update(row[0] for row in cursor.fetchall())
    return found


def only_visible(context: Context, stored: list, interaction: str = "read") -> list:
    """Keep the StoredResources (with primary keys) the caller may see, in their order."""
    if context.is_system or not stored:
        return stored
    keep = visible_pks(context, [s.pk for s in stored], interaction)
    return [s for s in stored if s.pk in keep]


def require_instance(context: Context, pk: int, resource_type: str, logical_id: str, interaction: str) -> None:
    """403 when the stored resource lies outside the caller's compartment or in a restricted record."""
    if context.is_system:
        return
    if context.patient_id is None and not hidden_patients(context):
        return
    if pk in visible_pks(context, [pk], interaction):
        return
    if context.patient_id is not None and pk not in visible_pks(
        Context(permissions=context.permissions, scopes=context.scopes, patient_id=context.patient_id,
                emergency_patients=frozenset(restricted_patients())), [pk], interaction):
        raise Forbidden(f"{resource_type}/{logical_id} is outside your patient's record")
    raise Forbidden(f"{resource_type}/{logical_id} belongs to a restricted record; a permitted user can "
                    "break the glass for this patient, with a reason, at /accounts/emergency-access/")


def require_new_content(context: Context, resource_type: str, logical_id: str, index_rows: dict) -> None:
    """A write must land inside the caller's compartment and outside records they cannot see."""
    if context.is_system:
        return
    hidden = hidden_patients(context)
    if context.patient_id is None and not hidden:
        return
    params = indexing.patient_compartment_params(resource_type)
    patients = {row[2] for row in index_rows.get("reference", ()) if row[1] == "Patient" and row[0] in params}
    if resource_type == "Patient":
        patients.add(logical_id)
    if hidden and patients & set(hidden):
        raise Forbidden(f"{resource_type}/{logical_id} would be written into a restricted record; break the glass "
                        "for this patient first, at /accounts/emergency-access/")
    if context.patient_id is not None and context.patient_id not in patients and (
        resource_type == "Group" or group_of(resource_type) not in SHARED_GROUPS
    ):
        raise Forbidden(f"{resource_type}/{logical_id} would lie outside your patient's record")
