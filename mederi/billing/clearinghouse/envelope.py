"""The CAQH CORE connectivity envelope: MIME multipart/form-data fields around an X12 payload.

Both the HTTPS connector and the stand-in server use these functions, so what one writes the
other reads. The envelope names the payload by a PayloadType such as
"X12_270_Request_005010X279A1": the transaction set (ST01) and the implementation guide (GS08).
This module also knows the handful of X12 facts needed to name a payload (ISA is fixed-width,
its 4th byte is the element separator and its 106th the segment terminator); parsing X12 proper
belongs elsewhere.
"""

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from email.message import Message

CORE_RULE_VERSION = "2.2.0"
REAL_TIME = "RealTime"
BATCH = "Batch"
SUCCESS = "Success"
NO_BATCH_RESULTS = "X12_005010_Response_NoBatchResultsFile"
FIELD_NAME = re.compile(r"[A-Za-z0-9_.-]+")

# The implementation guide a request kind uses when its payload does not say (no GS segment).
IMPLEMENTATION_GUIDES = {
    "270": "005010X279A1",
    "271": "005010X279A1",
    "276": "005010X212",
    "277": "005010X212",
    "278": "005010X217",
    "837P": "005010X222A1",
    "837I": "005010X223A2",
    "837D": "005010X224A2",
    "835": "005010X221A1",
    "999": "005010X231A1",
}
_KIND_OF_837_GUIDE = {"005010X222A1": "837P", "005010X223A2": "837I", "005010X224A2": "837D"}

# What answers each request kind: an inquiry gets its response, anything else an acknowledgement.
RESPONSE_KINDS = {"270": "271", "276": "277", "278": "278"}

# The batch retrieval request for each kind of result file.
RETRIEVAL_PAYLOAD_TYPES = {
    "999": "X12_999_RetrievalRequest_005010X231A1",
    "271": "X12_005010_Request_Batch_Results_271",
    "277": "X12_005010_Request_Batch_Results_277",
}


class EnvelopeError(ValueError):
    """A message does not follow the envelope format; the text says where."""


def response_kind(kind: str) -> str:
    """The kind of file that answers a request of `kind`: 271 for a 270, 999 for a claim."""
    return RESPONSE_KINDS.get(kind, "999")


def x12_identity(payload: bytes) -> tuple[str, str | None] | None:
    """(ST01, GS08) of an X12 interchange, e.g. ("270", "005010X279A1"); None when it is not X12."""
    text = payload.lstrip()
    if not text.startswith(b"ISA") or len(text) < 106:
        return None
    element, terminator = text[3:4], text[105:106]
    transaction, guide = None, None
    for raw in text.split(terminator):
        fields = raw.strip().split(element)
        if fields[0] == b"GS" and len(fields) > 8 and guide is None:
            guide = fields[8].decode("ascii", "replace").strip()
        elif fields[0] == b"ST" and len(fields) > 1:
            transaction = fields[1].decode("ascii", "replace").strip()
            break
    if transaction is None:
        return None
    return transaction, guide or None


def kind_of(payload: bytes, fallback: str = "") -> str:
    """The kind a payload is ("270", "837P", ...), read from its ST and GS segments."""
    identity = x12_identity(payload)
    if identity is None:
        return fallback
    transaction, guide = identity
    if transaction == "837":
        return _KIND_OF_837_GUIDE.get(guide or "", fallback if fallback.startswith("837") else "837P")
    return transaction


def payload_type(kind: str, payload: bytes = b"", *, response: bool = False) -> str:
    """The CORE PayloadType naming `payload`, e.g. X12_270_Request_005010X279A1."""
    identity = x12_identity(payload)
    guide = identity[1] if identity and identity[1] else IMPLEMENTATION_GUIDES.get(kind)
    if guide is None:
        raise EnvelopeError(f"there is no CORE payload type for a {kind!r} transaction")
    transaction = identity[0] if identity else kind[:3]
    return f"X12_{transaction}_{'Response' if response else 'Request'}_{guide}"


def kind_from_payload_type(value: str) -> str:
    """The request kind a PayloadType names: "270" for X12_270_Request_005010X279A1, "837I" for an institutional claim."""
    match = re.fullmatch(r"X12_(\d{3})_(?:Request|Response)_(\w+)", value)
    if not match:
        raise EnvelopeError(f"the payload type {value!r} does not name an X12 request")
    transaction, guide = match.groups()
    if transaction == "837":
        return _KIND_OF_837_GUIDE.get(guide, "837P")
    return transaction


def timestamp() -> str:
    """Now in UTC, as the envelope's TimeStamp field wants it (ISO 8601)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_payload_id() -> str:
    return str(uuid.uuid4())


def encode(fields: Mapping[str, str | bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body holding `fields`, and the Content-Type header that goes with it."""
    values = {name: value.encode() if isinstance(value, str) else value for name, value in fields.items()}
    boundary = uuid.uuid4().hex
    while any(boundary.encode() in value for value in values.values()):
        boundary = uuid.uuid4().hex
    parts = []
    for name, value in values.items():
        if not FIELD_NAME.fullmatch(name):
            raise EnvelopeError(f"the field name {name!r} must be letters, digits, dots, dashes or underscores")
        parts.append(
            b"--" + boundary.encode() + b"\r\n"
            + f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value + b"\r\n"
        )
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


def media_type(content_type: str) -> str:
    """The bare media type of a Content-Type header, lower-cased: "multipart/form-data"."""
    return content_type.split(";", 1)[0].strip().lower()


def _header_param(header_value: str, param: str, header: str = "content-type") -> str | None:
    message = Message()
    message[header] = header_value
    value = message.get_param(param, header=header)
    return value if isinstance(value, str) else None


def decode(body: bytes, content_type: str) -> dict[str, bytes]:
    """The fields of a multipart/form-data (or multipart/mixed) body, by name, as bytes."""
    if not media_type(content_type).startswith("multipart/"):
        raise EnvelopeError(f"expected a multipart body, got {media_type(content_type) or 'no content type'}")
    boundary = _header_param(content_type, "boundary")
    if not boundary:
        raise EnvelopeError("the multipart Content-Type header has no boundary")
    delimiter = b"\r\n--" + boundary.encode()
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 2:
        raise EnvelopeError("the multipart body does not contain its boundary")
    fields: dict[str, bytes] = {}
    for section in sections[1:]:
        if section.startswith(b"--"):
            return fields
        head, blank, content = section.partition(b"\r\n\r\n")
        if not blank:
            raise EnvelopeError("a part of the multipart body has no blank line after its headers")
        name = None
        for line in head.split(b"\r\n"):
            header, _, value = line.decode("latin-1").partition(":")
            if header.strip().lower() == "content-disposition":
                name = _header_param(value.strip(), "name", header="content-disposition")
        if name is None:
            raise EnvelopeError("a part of the multipart body has no Content-Disposition name")
        fields[name] = content
    raise EnvelopeError("the multipart body ends without its closing boundary")


def text_field(fields: Mapping[str, bytes], name: str) -> str:
    """A field as text; empty when the field is absent."""
    return fields.get(name, b"").decode("utf-8", "replace").strip()
