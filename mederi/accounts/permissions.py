"""What a person may do, defined in code.

Record permissions are `<group>.<access>`: every FHIR resource type belongs to one group
(demographics, clinical, scheduling, insurance, financial, directory, security, definitions)
and every interaction to one access level (read, write, delete). App actions that are not a
plain read or write of a resource ("sign a note", "break the glass") are permissions of their
own. Roles are named sets of these codes; the shipped roles are below, and administrators can
make more.
"""

from __future__ import annotations

from dataclasses import dataclass

from mederi.fhir.access import ACCESS_BY_INTERACTION, GROUP_TYPES, GROUPS, group_of, permission_for  # noqa: F401

ACTIONS = {
    "notes.sign": "Sign clinical notes",
    "orders.sign": "Sign orders and prescriptions",
    "payments.post": "Post payments and adjustments",
    "payments.collect": "Collect copays and other payments from patients at the desk",
    "claims.submit": "Submit claims to payers",
    "ledger.close": "Close a month of the ledger (nothing may be posted in it afterwards)",
    "record.break_glass": "Break the glass: emergency access to any chart, with a reason",
    "record.export": "Export and bulk-download the record",
    "audit.view": "View the audit log and reports",
    "accounts.manage": "Manage users, roles and OAuth apps",
    "interfaces.manage": "Manage lab connections and review refused HL7 messages",
}


def all_permissions() -> dict[str, str]:
    """Every permission code with a description a person can choose from."""
    codes = {}
    for group in GROUPS:
        for access, verb in (("read", "Read"), ("write", "Create and change"), ("delete", "Delete")):
            codes[f"{group}.{access}"] = f"{verb} {group} records"
    codes.update(ACTIONS)
    return codes


def _grant(*groups: str, access: tuple[str, ...] = ("read", "write")) -> set[str]:
    return {f"{group}.{level}" for group in groups for level in access}


@dataclass(frozen=True)
class RoleDefinition:
    slug: str
    name: str
    description: str
    permissions: frozenset[str]


_CLINICAL_STAFF = (
    _grant("demographics", "clinical", "scheduling")
    | _grant("insurance", "directory", "definitions", access=("read",))
)
DEFAULT_ROLES = (
    RoleDefinition("front_desk", "Front desk", "Registers patients, verifies insurance, books and checks in.",
                   frozenset(_grant("demographics", "scheduling", "insurance")
                             | _grant("directory", "definitions", access=("read",))
                             | {"payments.collect"})),
    RoleDefinition("biller", "Biller", "Codes visits, submits claims, posts payments.",
                   frozenset(_grant("insurance", "financial")
                             | _grant("demographics", "clinical", "scheduling", "directory", "definitions",
                                      access=("read",))
                             | {"payments.post", "payments.collect", "claims.submit", "ledger.close"})),
    RoleDefinition("nurse", "Nurse", "Rooms patients, records vitals, histories and immunizations.",
                   frozenset(_CLINICAL_STAFF)),
    RoleDefinition("physician", "Physician / provider", "Charts, orders, prescribes and signs.",
                   frozenset(_CLINICAL_STAFF | {"notes.sign", "orders.sign", "record.break_glass"})),
    RoleDefinition("practice_admin", "Practice administrator", "Runs the practice: staff, roles, directory.",
                   frozenset(_grant(*GROUPS, access=("read", "write"))
                             | _grant("demographics", "scheduling", "insurance", "directory", "definitions",
                                      access=("delete",))
                             | {"accounts.manage", "record.export", "audit.view", "payments.collect",
                                "interfaces.manage", "ledger.close"})),
    RoleDefinition("auditor", "Auditor", "Reviews the audit log and accounting of disclosures.",
                   frozenset({"audit.view", "demographics.read"})),
)

# What a patient signed in to the portal (or an app they authorised) may do, always within their
# own compartment: read their record, and book or cancel their own appointments.
PATIENT_PERMISSIONS = frozenset(
    _grant("demographics", "clinical", "scheduling", "insurance", "financial", "directory", "definitions",
           access=("read",))
    | {"scheduling.write"}
)
