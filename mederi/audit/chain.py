"""The hash chain: how one audit entry's hash is computed from its content and its predecessor.

hash = SHA-256( prev_hash + "\\n" + canonical(entry) ), hex encoded, where canonical(entry) is
a compact JSON array of every other field in the fixed order of `HASHED_FIELDS`: the time as
an ISO 8601 UTC string with microseconds, integers as integers, empty values as they are
stored ("" or null). No floats take part. The first entry chains from `GENESIS` (64 zeros).

The database id is not hashed: order is carried by the prev_hash links, so ids may have gaps.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

GENESIS = "0" * 64

HASHED_FIELDS = (
    "recorded",
    "action",
    "outcome",
    "actor_user_id",
    "actor_name",
    "actor_role",
    "patient_id",
    "resource_type",
    "resource_ids",
    "query",
    "remote_addr",
    "purpose",
    "detail",
)


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive UTC through raw SQL
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


# Built once: `json.dumps` with options builds a new encoder per call, a third of the cost of
# encoding an entry (every entry is hashed, so this is on the path of every read).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical(values: dict) -> bytes:
    row = []
    for name in HASHED_FIELDS:
        value = values[name]
        if name == "recorded":
            value = iso_utc(value)
        elif isinstance(value, float):
            raise TypeError(f"audit field {name} may not be a float")
        row.append(value)
    return _ENCODER.encode(row).encode("utf-8")


def entry_hash(prev_hash: str, values: dict) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical(values))
    return digest.hexdigest()
