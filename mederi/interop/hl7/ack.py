"""Acknowledgements (ACK) to received messages: AA when accepted, AE or AR with an ERR segment."""

from __future__ import annotations

import uuid
from datetime import datetime

from mederi.interop.hl7.message import Encoding, HL7Error, Message, build, segment, write
from mederi.interop.hl7.values import hl7_datetime

ACCEPT, ERROR, REJECT = "AA", "AE", "AR"
ERROR_NAMES = {  # HL7 table 0357
    "0": "Message accepted", "100": "Segment sequence error", "101": "Required field missing",
    "102": "Data type error", "103": "Table value not found", "200": "Unsupported message type",
    "204": "Unknown key identifier", "206": "Application record locked", "207": "Application internal error",
}


def acknowledgement(received: Message | None, code: str, moment: datetime, *, text: str = "",
                    error: HL7Error | None = None) -> str:
    """The ACK text for `received` (None when it could not even be read)."""
    header = received.header if received is not None else None

    def echo(field: int) -> tuple:
        # The ACK goes back where the message came from: its sender becomes the receiver.
        return tuple(tuple(c) for c in header.fields[field - 1][0]) if header and len(header.fields) >= field \
            and header.fields[field - 1] else ""

    trigger = received.message_type[1] if received is not None else ""
    segments = [
        segment("MSH", echo(5), echo(6), echo(3), echo(4), hl7_datetime(moment), "", ("ACK", trigger, "ACK"),
                uuid.uuid4().hex[:20], (header.value(11) if header else "") or "P",
                (header.value(12) if header else "") or "2.5.1"),
        segment("MSA", code, received.control_id if received is not None else "", text[:80] if code != ACCEPT else ""),
    ]
    if error is not None:
        location = (error.segment or "", str(error.sequence or 1) if error.segment else "",
                    str(error.field or "") if error.segment else "")
        segments.append(segment("ERR", "", location if error.segment else "",
                                (error.code, ERROR_NAMES.get(error.code, ""), "HL70357"), "E", "", "", "",
                                str(error)[:250]))
    return write(build(segments, received.encoding if received is not None else Encoding()))


def parse_acknowledgement(reply: Message) -> tuple[str, str]:
    """(MSA-1 code, the reason a person can read) of an ACK received from the other side."""
    msa = reply.first("MSA")
    if msa is None:
        raise HL7Error("the answer has no MSA segment", segment="MSA", code="100")
    reasons = [err.value(8) or err.value(3, 2) or err.value(1, 4) for err in reply.all("ERR")]
    reason = "; ".join(r for r in reasons if r) or msa.value(3)
    return msa.value(1), reason
