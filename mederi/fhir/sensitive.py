"""Sensitive values inside resources, encrypted in the database and searchable only exactly.

Social security numbers (`Identifier.system` http://hl7.org/fhir/sid/us-ssn) of patients,
related persons, persons and practitioners are stored as `enc1:<Fernet token>` in both the
current row and the history, and indexed as a keyed digest (`core.crypto.blind_index`), never as
the number. Everything that leaves the repository is opened again, so API clients and services
see the resource as it was written; a database dump, a backup or a replica does not.

Searching needs the system: `identifier=http://hl7.org/fhir/sid/us-ssn|123-45-6789`.
"""

from __future__ import annotations

import re

from mederi.core import crypto
from mederi.fhir import jsonio

SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
PROTECTED_TYPES = frozenset({"Patient", "RelatedPerson", "Person", "Practitioner"})
PREFIX = "enc1:"


def _identifiers(body: dict):
    for identifier in body.get("identifier") or ():
        if isinstance(identifier, dict) and identifier.get("system") == SSN_SYSTEM \
                and isinstance(identifier.get("value"), str):
            yield identifier


def _normalised(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) == 9 else value.strip()


def index_code(value: str) -> str:
    """What the token index holds (and a search looks for) in place of an SSN."""
    return crypto.blind_index(_normalised(value))


def seal(resource_type: str, content: str) -> str:
    """The content as it is stored: SSNs encrypted."""
    if resource_type not in PROTECTED_TYPES or SSN_SYSTEM not in content:
        return content
    body = jsonio.loads(content)
    changed = False
    for identifier in _identifiers(body):
        if not identifier["value"].startswith(PREFIX):
            identifier["value"] = PREFIX + crypto.encrypt(identifier["value"])
            changed = True
    return jsonio.dumps(body) if changed else content


def open_content(resource_type: str, content: str) -> str:
    """The content as it was written: SSNs decrypted."""
    if resource_type not in PROTECTED_TYPES or PREFIX not in content:
        return content
    body = jsonio.loads(content)
    for identifier in _identifiers(body):
        if identifier["value"].startswith(PREFIX):
            identifier["value"] = crypto.decrypt(identifier["value"][len(PREFIX):])
    return jsonio.dumps(body)


def protect_index_rows(resource_type: str, index_rows: dict) -> None:
    """Token rows of SSNs hold the keyed digest, never the number."""
    if resource_type not in PROTECTED_TYPES:
        return
    tokens = index_rows.get("token") or []
    if any(row[1] == SSN_SYSTEM for row in tokens):
        index_rows["token"] = [(row[0], row[1], index_code(row[2]) if row[2] else row[2], None)
                               if row[1] == SSN_SYSTEM else row for row in tokens]


def rotate_stored() -> int:
    """Re-encrypt the stored SSNs (current rows and history) with the newest key; how many rows."""
    from django.db import transaction

    from mederi.fhir.models import Resource, ResourceHistory

    count = 0
    for model in (Resource, ResourceHistory):
        rows = model.objects.filter(resource_type__in=PROTECTED_TYPES, content__contains=PREFIX)
        with transaction.atomic():
            for pk, content in rows.values_list("pk", "content").iterator(chunk_size=500):
                body = jsonio.loads(content)
                for identifier in _identifiers(body):
                    if identifier["value"].startswith(PREFIX):
                        identifier["value"] = PREFIX + crypto.rotate(identifier["value"][len(PREFIX):])
                model.objects.filter(pk=pk).update(content=jsonio.dumps(body))
                count += 1
    return count
