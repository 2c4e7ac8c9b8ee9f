"""HL7 v2 messages: a reader and writer of our own (no Django), and the dates and ACKs around them."""

from mederi.interop.hl7.message import (
    Encoding,
    HL7Error,
    Message,
    Repeat,
    Repetition,
    Segment,
    build,
    parse,
    segment,
    write,
)

__all__ = ["Encoding", "HL7Error", "Message", "Repeat", "Repetition", "Segment", "build", "parse", "segment", "write"]
