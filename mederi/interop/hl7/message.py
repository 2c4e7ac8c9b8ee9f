"""HL7 v2 messages as plain values: parse text into segments, write segments back as text.

A message is a list of segments; a segment is its name and its fields (field 1 first); a field
is a tuple of repetitions (`~`), a repetition a tuple of components (`^`), a component a tuple of
subcomponents (`&`), each an unescaped string. Trailing empty parts are dropped everywhere, so
`A^^` and `A` are the same value, and a message read and written again reads back equal.

What senders really send is accepted: segments ended by CR, LF or CRLF, a UTF-8 byte-order mark,
missing trailing fields, `MSH-2` with or without the truncation character (v2.7+), and unknown
escape sequences (kept as they were written). A message that cannot be understood raises
`HL7Error`, which names the segment and field (`OBX-5`) so the sender can find it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # not str.splitlines: it also splits on U+2028 and friends
_SPACE_ESCAPE = re.compile(r"\.sp ?(\d*)")


class HL7Error(ValueError):
    """A message that cannot be read, or a value that does not fit its field.

    `code` is from HL7 table 0357 (message error condition codes), for the ERR segment of a NAK.
    """

    def __init__(self, reason: str, *, segment: str | None = None, field: int | None = None,
                 component: int | None = None, sequence: int | None = None, code: str = "102"):
        super().__init__(reason)
        self.reason, self.segment, self.field, self.component = reason, segment, field, component
        self.sequence, self.code = sequence, code

    @property
    def location(self) -> str:
        """`OBX-5`, `OBX-5.2`, or just `PID` (empty when the whole message is at fault)."""
        if not self.segment:
            return ""
        text = self.segment if self.field is None else f"{self.segment}-{self.field}"
        return text if self.component is None else f"{text}.{self.component}"

    def __str__(self) -> str:
        where = self.location
        if where and self.sequence and self.sequence > 1:
            where = f"{where} (the {_ordinal(self.sequence)} {self.segment})"
        return f"{where}: {self.reason}" if where else self.reason


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Encoding:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = ""  # v2.7 and later may declare one in MSH-2

    @property
    def characters(self) -> str:
        """MSH-2 as written."""
        return self.component + self.repetition + self.escape + self.subcomponent + self.truncation

    def escapes(self) -> dict[str, str]:
        table = {self.field: "F", self.component: "S", self.subcomponent: "T", self.repetition: "R",
                 self.escape: "E"}
        if self.truncation:
            table[self.truncation] = "P"
        return table


class Repetition(tuple):
    """One repetition of a field: its components, each a tuple of subcomponents."""

    def get(self, component: int = 1, subcomponent: int = 1) -> str:
        if component > len(self) or subcomponent > len(self[component - 1]):
            return ""
        return self[component - 1][subcomponent - 1]


@dataclass(frozen=True)
class Segment:
    name: str
    fields: tuple  # fields[0] is field 1; each a tuple of Repetitions

    def repetitions(self, field: int) -> list[Repetition]:
        """Every repetition of a field, with content (empty repetitions are skipped)."""
        if field > len(self.fields):
            return []
        return [rep for rep in self.fields[field - 1] if rep]

    def value(self, field: int, component: int = 1, subcomponent: int = 1, repetition: int = 1) -> str:
        """One value ("" when absent): `obx.value(3, 1)` is OBX-3.1 of the first repetition."""
        if field > len(self.fields) or repetition > len(self.fields[field - 1]):
            return ""
        return self.fields[field - 1][repetition - 1].get(component, subcomponent)

    def error(self, field: int | None, reason: str, **kw) -> HL7Error:
        return HL7Error(reason, segment=self.name, field=field, **kw)


@dataclass(frozen=True)
class Message:
    segments: tuple[Segment, ...]
    encoding: Encoding = Encoding()

    @property
    def header(self) -> Segment:
        return self.segments[0]

    @property
    def message_type(self) -> tuple[str, str]:
        """MSH-9 as (code, trigger event): ("ORU", "R01")."""
        return self.header.value(9, 1), self.header.value(9, 2)

    @property
    def control_id(self) -> str:
        return self.header.value(10)

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]


# -- building values -------------------------------------------------------------------------


class Repeat(tuple):
    """Field repetitions in `segment(...)`: `Repeat("a", ("b", "c"))` is `a~b^c`."""

    def __new__(cls, *values):
        return super().__new__(cls, values)


def _component(value) -> tuple[str, ...]:
    subs = [value] if isinstance(value, str) else ["" if v is None else str(v) for v in value]
    while subs and subs[-1] == "":
        subs.pop()
    return tuple(subs)


def _repetition(value) -> Repetition:
    components = [_component(value)] if isinstance(value, str) else [_component(c or "") for c in value]
    while components and not components[-1]:
        components.pop()
    return Repetition(components)


def _field(value) -> tuple:
    if value is None or value == "":
        return ()
    repetitions = tuple(_repetition(v) for v in value) if isinstance(value, Repeat) else (_repetition(value),)
    return () if repetitions == (Repetition(),) else repetitions


def _trimmed(fields: list) -> tuple:
    while fields and not fields[-1]:
        fields.pop()
    return tuple(fields)


def segment(name: str, *fields) -> Segment:
    """A segment from plain values: a str is one component, a list/tuple its components (a
    component may itself be a tuple of subcomponents), `Repeat(...)` repetitions, None empty.
    For MSH, start at MSH-3: the writer supplies MSH-1 and MSH-2 from the encoding."""
    if not SEGMENT_NAME.fullmatch(name):
        raise HL7Error(f"'{name}' is not a segment name (three capitals or digits)")
    built = [_field(f) for f in fields]
    if name == "MSH":
        built = [(), (), *built]  # placeholders for MSH-1 and MSH-2
    return Segment(name, _trimmed(built))


def build(segments: list[Segment], encoding: Encoding = Encoding()) -> Message:
    """A message of built segments, its MSH-1 and MSH-2 taken from `encoding`."""
    if not segments or segments[0].name != "MSH":
        raise HL7Error("a message starts with an MSH segment", segment="MSH", code="100")
    header = segments[0]
    fields = (Repetition([(encoding.field,)]),), (Repetition([(encoding.characters,)]),)
    return Message((Segment("MSH", fields + header.fields[2:]), *segments[1:]), encoding)


# -- reading ---------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # the usual alternative of older lab systems


def _encoding_from(line: str) -> Encoding:
    if len(line) < 5 or line[3].isalnum() or line[3].isspace():
        raise HL7Error("MSH-1 must be the field separator right after 'MSH' (usually |)", segment="MSH", field=1,
                       code="100")
    separator = line[3]
    characters = line[4:].split(separator, 1)[0]
    problems = []
    if not 3 <= len(characters) <= 5:
        problems.append(f"has {len(characters)} characters, not 4 (such as ^~\\&)")
    elif len(set(characters + separator)) != len(characters) + 1:
        problems.append("repeats a character or the field separator")
    elif any(c.isalnum() or c.isspace() for c in characters):
        problems.append("may not hold letters, digits or spaces")
    if problems:
        raise HL7Error(f"the encoding characters '{characters}' {problems[0]}", segment="MSH", field=2, code="100")
    subcomponent = characters[3] if len(characters) > 3 else "&"
    return Encoding(separator, characters[0], characters[1], characters[2], subcomponent, characters[4:5])


def _unescape(text: str, enc: Encoding, where: tuple[str, int]) -> str:
    if enc.escape not in text:
        return text
    out, i = [], 0
    named = {code: char for char, code in enc.escapes().items()}
    while i < len(text):
        start = text.find(enc.escape, i)
        end = text.find(enc.escape, start + 1) if start >= 0 else -1
        if start < 0 or end < 0:  # a lone escape character: keep it as written
            out.append(text[i:])
            break
        out.append(text[i:start])
        body = text[start + 1:end]
        if body in named:
            out.append(named[body])
        elif body.startswith("X") and len(body) > 1:
            digits = body[1:]
            if len(digits) % 2 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise HL7Error(f"the escape \\{body}\\ must be \\X followed by pairs of hex digits",
                               segment=where[0], field=where[1])
            out.append(_decode(bytes.fromhex(digits)))
        elif body == ".br":
            out.append("\n")
        elif match := _SPACE_ESCAPE.fullmatch(body):
            out.append("\n" * int(match.group(1) or 1))
        elif body in ("H", "N") or body[:1] in (".", "C", "M") and len(body) > 1:
            pass  # highlighting, formatting and character-set switches: the text stays, the styling goes
        else:
            out.append(text[start:end + 1])  # unknown: kept as written
        i = end + 1
    return "".join(out)


def _parse_field(raw: str, enc: Encoding, where: tuple[str, int]) -> tuple:
    if raw == "":
        return ()
    reps = []
    for rep in raw.split(enc.repetition):
        components = [tuple(_unescape(s, enc, where) for s in c.split(enc.subcomponent))
                      for c in rep.split(enc.component)]
        reps.append(_repetition(components))
    return () if reps == [Repetition()] else tuple(reps)


def parse(data: str | bytes) -> Message:
    """Read one message. Raises HL7Error naming the segment and field at fault."""
    text = _decode(data) if isinstance(data, (bytes, bytearray)) else data
    text = text.lstrip("\ufeff")
    lines = [line for line in _LINE_BREAK.split(text) if line.strip()]
    if not lines:
        raise HL7Error("the message is empty", code="100")
    if not lines[0].startswith("MSH"):
        raise HL7Error(f"a message starts with an MSH segment, not '{lines[0][:3]}'", segment="MSH", code="100")
    enc = _encoding_from(lines[0])
    segments = []
    for number, line in enumerate(lines, start=1):
        name = line[:3]
        if not SEGMENT_NAME.fullmatch(name) or (len(line) > 3 and line[3] != enc.field):
            raise HL7Error(f"line {number} does not start with a segment name and '{enc.field}': "
                           f"'{line[:12]}'", segment=name if SEGMENT_NAME.fullmatch(name) else None, code="100")
        parts = line.split(enc.field)
        if name == "MSH":
            if number > 1:
                raise HL7Error(f"line {number} starts a second message; send one message at a time",
                               segment="MSH", code="100")
            fields = [(Repetition([(enc.field,)]),), (Repetition([(enc.characters,)]),)]
            fields += [_parse_field(raw, enc, (name, n)) for n, raw in enumerate(parts[2:], start=3)]
        else:
            fields = [_parse_field(raw, enc, (name, n)) for n, raw in enumerate(parts[1:], start=1)]
        segments.append(Segment(name, _trimmed(fields)))
    return Message(tuple(segments), enc)


# -- writing ---------------------------------------------------------------------------------


def _escape(text: str, enc: Encoding) -> str:
    table = enc.escapes()
    out = []
    for char in text:
        if char in table:
            out.append(f"{enc.escape}{table[char]}{enc.escape}")
        elif char == "\n":
            out.append(f"{enc.escape}.br{enc.escape}")
        elif (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
            out.append(f"{enc.escape}X{ord(char):02X}{enc.escape}")  # CR, MLLP's framing bytes, ...
        else:
            out.append(char)
    return "".join(out)


def _write_field(field: tuple, enc: Encoding) -> str:
    return enc.repetition.join(
        enc.component.join(enc.subcomponent.join(_escape(s, enc) for s in component) for component in rep)
        for rep in field)


def write(message: Message | list[Segment], encoding: Encoding | None = None, terminator: str = "\r") -> str:
    """The message as text, each segment ended by `terminator` (CR, as the standard says)."""
    if isinstance(message, Message):
        segments, enc = message.segments, encoding or message.encoding
    else:
        segments, enc = message, encoding or Encoding()
    lines = []
    for seg in segments:
        if seg.name == "MSH":
            rest = [_write_field(f, enc) for f in seg.fields[2:]]
            lines.append(enc.field.join(["MSH" + enc.field + enc.characters, *rest]))
        else:
            lines.append(enc.field.join([seg.name, *(_write_field(f, enc) for f in seg.fields)]))
    return "".join(line + terminator for line in lines)
