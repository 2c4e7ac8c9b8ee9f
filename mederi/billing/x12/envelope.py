"""Reading and writing X12 interchanges: ISA/IEA around GS/GE groups around ST/SE transaction sets.

An X12 file names its own delimiters in the fixed-width ISA segment, so the reader learns them
from there. It splits the file into an `Interchange` of `FunctionalGroup`s of `TransactionSet`s,
each segment a list of strings (element 0 is the segment id), and checks the control structure:
counts in the trailers and control numbers that must match their headers. Anything wrong raises
`X12Error` with a sentence a person can act on; no other exception escapes for bad input.

`Writer` does the reverse: given transaction-set bodies it writes a complete interchange with the
standard delimiters (* ^ : ~), consecutive control numbers and correct counts.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

Segment = list[str]

ISA_LENGTH = 106
_SEGMENT_ID = re.compile(r"[A-Z0-9]{2,3}")
_DIGITS = re.compile(r"[0-9]+")

# GS01 for each transaction set (ST01) this project writes or is likely to meet.
FUNCTIONAL_IDS = {
    "270": "HS",
    "271": "HB",
    "276": "HR",
    "277": "HN",
    "278": "HI",
    "820": "RA",
    "834": "BE",
    "835": "HP",
    "837": "HC",
    "997": "FA",
    "999": "FA",
}


class X12Error(ValueError):
    """An X12 file or value that cannot be read or written, with where it went wrong.

    `segment_index` is the 1-based position of the offending segment in the file (the ISA is 1),
    `segment_id` its name; both are None when the problem is not tied to one segment.
    """

    def __init__(self, message: str, segment_index: int | None = None, segment_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.segment_index = segment_index
        self.segment_id = segment_id

    def __str__(self) -> str:
        if self.segment_index is None:
            return self.message
        where = f"segment {self.segment_index}" + (f", {self.segment_id}" if self.segment_id else "")
        return f"{self.message} ({where})"


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    repetition: str | None = "^"
    component: str = ":"
    segment: str = "~"

    def repetitions(self, value: str) -> list[str]:
        """The repeats of a repeating element (EB03 "1^33^35" -> ["1", "33", "35"]); [] when empty."""
        if not value:
            return []
        return value.split(self.repetition) if self.repetition else [value]

    def components(self, value: str) -> list[str]:
        """The parts of a composite element ("HC:99213" -> ["HC", "99213"])."""
        return value.split(self.component) if value else []


STANDARD = Delimiters()


def element(segment: Segment, position: int) -> str:
    """Element `position` of a segment (1 for the first after the id), "" when the segment is shorter."""
    return segment[position] if position < len(segment) else ""


@dataclass
class TransactionSet:
    segments: list[Segment]  # ST first, SE last, as in the file
    start_index: int  # 1-based position of the ST segment in the file

    @property
    def id(self) -> str:
        return element(self.segments[0], 1)

    @property
    def control_number(self) -> str:
        return element(self.segments[0], 2)

    @property
    def implementation(self) -> str:
        return element(self.segments[0], 3)

    @property
    def body(self) -> list[Segment]:
        """The segments between ST and SE."""
        return self.segments[1:-1]


@dataclass
class FunctionalGroup:
    header: Segment  # the GS segment
    transactions: list[TransactionSet] = field(default_factory=list)

    functional_id = property(lambda self: element(self.header, 1))
    sender_id = property(lambda self: element(self.header, 2))
    receiver_id = property(lambda self: element(self.header, 3))
    control_number = property(lambda self: element(self.header, 6))
    version = property(lambda self: element(self.header, 8))


@dataclass
class Interchange:
    header: Segment  # the ISA segment, 17 items, fixed-width fields unstripped
    delimiters: Delimiters
    groups: list[FunctionalGroup] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)  # problems tolerated when read with strict=False
    interchange_acks: list[Segment] = field(default_factory=list)  # TA1 segments, between ISA and the first GS

    sender_qualifier = property(lambda self: self.header[5])
    sender_id = property(lambda self: self.header[6].strip())
    receiver_qualifier = property(lambda self: self.header[7])
    receiver_id = property(lambda self: self.header[8].strip())
    control_number = property(lambda self: self.header[13])
    usage = property(lambda self: self.header[15])  # T test, P production

    @property
    def created(self) -> dt.datetime | None:
        """ISA09/ISA10 as a datetime, None when they are not a valid date and time."""
        try:
            return dt.datetime.strptime(self.header[9] + self.header[10], "%y%m%d%H%M")
        except ValueError:
            return None

    @property
    def transactions(self) -> list[TransactionSet]:
        return [tx for group in self.groups for tx in group.transactions]


# ---------------------------------------------------------------- reading


def _as_text(data: str | bytes) -> str:
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            data = bytes(data).decode("latin-1")
    if not isinstance(data, str):
        raise TypeError(f"X12 input must be str or bytes, not {type(data).__name__}")
    return data.lstrip("\ufeff").lstrip()


def _delimiters(text: str) -> Delimiters:
    """Learn the delimiters from the fixed-width ISA segment at the start of `text`."""
    if not text:
        raise X12Error("the file is empty")
    if not text.startswith("ISA"):
        raise X12Error("this is not an X12 file: it does not start with ISA")
    cut_short = X12Error("the file is cut short inside the ISA segment: it may be truncated", 1, "ISA")
    if len(text) < 4:
        raise cut_short
    separator = text[3]
    if separator.isalnum() or separator in " \r\n":
        raise X12Error(f"the ISA segment names {separator!r} as the element separator, which cannot be one", 1, "ISA")
    position = 3
    for _ in range(15):  # ISA01..ISA16 follow 16 separators; the first is at position 3
        position = text.find(separator, position + 1)
        if position < 0:
            raise cut_short
    if position + 2 >= len(text):
        raise cut_short
    component, terminator = text[position + 1], text[position + 2]
    length = position + 3
    if length != ISA_LENGTH:
        raise X12Error(
            f"the ISA segment is {length} characters long but must be exactly {ISA_LENGTH}: its fields are fixed-width",
            1,
            "ISA",
        )
    fields = text[:position].split(separator)
    repetition = fields[11] if fields[12] >= "00501" and not fields[11].isalnum() and fields[11] != " " else None
    chosen = [separator, component, terminator] + ([repetition] if repetition else [])
    if len(set(chosen)) != len(chosen):
        raise X12Error("the ISA segment uses the same character for two different delimiters", 1, "ISA")
    for name, char in (("component separator", component), ("segment terminator", terminator)):
        if char.isalnum() or char == " ":
            raise X12Error(f"the ISA segment names {char!r} as the {name}, which cannot be one", 1, "ISA")
    return Delimiters(element=separator, repetition=repetition, component=component, segment=terminator)


def _segments(text: str, delimiters: Delimiters) -> list[Segment]:
    segments = []
    names = set()  # segment names already found well-formed: a file repeats a few dozen of them
    for raw in text.split(delimiters.segment):
        if not raw.strip():
            continue  # line breaks after terminators, trailing whitespace at the end of the file
        raw = raw.strip("\r\n")
        items = raw.split(delimiters.element)
        if items[0] in names:
            segments.append(items)
            continue
        names.add(items[0])
        if not _SEGMENT_ID.fullmatch(items[0]):
            raise X12Error(
                f"segment {len(segments) + 1} starts with {items[0][:10]!r}, which is not a segment name: "
                "the file may be damaged",
                len(segments) + 1,
            )
        segments.append(items)
    return segments


def _same_control_number(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    if _DIGITS.fullmatch(a) and _DIGITS.fullmatch(b):
        return int(a) == int(b)
    return a == b


def _count(value: str, what: str, index: int, segment_id: str) -> int:
    if not _DIGITS.fullmatch(value.strip()):
        raise X12Error(f"{what} should be a count, but it is {value!r}", index, segment_id)
    return int(value)


class _Reader:
    """Walks the segments once, building interchanges and checking every trailer against its header."""

    def __init__(self, segments: list[Segment], delimiters: Delimiters, strict: bool):
        self.segments = segments
        self.delimiters = delimiters
        self.strict = strict
        self.position = 0  # 0-based index of the next segment
        self.warnings: list[X12Error] = []

    def peek(self) -> str | None:
        return self.segments[self.position][0] if self.position < len(self.segments) else None

    def mismatch(self, message: str, segment_id: str) -> None:
        error = X12Error(message, self.position + 1, segment_id)
        if self.strict:
            raise error
        self.warnings.append(error)

    def interchanges(self) -> list["Interchange"]:
        found = []
        while self.peek() is not None:
            found.append(self.interchange())
        return found

    def interchange(self) -> Interchange:
        if self.peek() != "ISA":
            raise X12Error(f"expected ISA to start an interchange, found {self.peek()}", self.position + 1, self.peek())
        header = self.segments[self.position]
        if len(header) != 17:
            raise X12Error(f"the ISA segment has {len(header) - 1} fields instead of 16", self.position + 1, "ISA")
        self.warnings = []
        interchange = Interchange(header=header, delimiters=self.delimiters)
        self.position += 1
        while (segment_id := self.peek()) != "IEA":
            if segment_id is None:
                raise X12Error("the file ends without an IEA segment: it may be truncated")
            if segment_id == "TA1" and not interchange.groups:  # an interchange acknowledgement
                interchange.interchange_acks.append(self.segments[self.position])
                self.position += 1
                continue
            if segment_id != "GS":
                raise X12Error(
                    f"found {segment_id} where a functional group (GS) or the IEA trailer should be",
                    self.position + 1,
                    segment_id,
                )
            interchange.groups.append(self.group())
        trailer = self.segments[self.position]
        count = _count(element(trailer, 1), "IEA01", self.position + 1, "IEA")
        if count != len(interchange.groups):
            raise X12Error(
                f"IEA01 says {count} functional groups but the interchange has {len(interchange.groups)}",
                self.position + 1,
                "IEA",
            )
        if not _same_control_number(element(trailer, 2), header[13]):
            self.mismatch(f"IEA02 control number {element(trailer, 2)} does not match ISA13 {header[13]}", "IEA")
        self.position += 1
        interchange.warnings = self.warnings
        return interchange

    def group(self) -> FunctionalGroup:
        group = FunctionalGroup(header=self.segments[self.position])
        start = self.position + 1
        self.position += 1
        while (segment_id := self.peek()) != "GE":
            if segment_id is None:
                raise X12Error(
                    f"the file ends inside functional group {group.control_number} (GS at segment {start}) "
                    "without its GE trailer: it may be truncated"
                )
            if segment_id != "ST":
                raise X12Error(
                    f"found {segment_id} where a transaction set (ST) or the GE trailer should be",
                    self.position + 1,
                    segment_id,
                )
            group.transactions.append(self.transaction())
        trailer = self.segments[self.position]
        count = _count(element(trailer, 1), "GE01", self.position + 1, "GE")
        if count != len(group.transactions):
            raise X12Error(
                f"GE01 says {count} transaction sets but the functional group has {len(group.transactions)}",
                self.position + 1,
                "GE",
            )
        if not _same_control_number(element(trailer, 2), group.control_number):
            self.mismatch(f"GE02 control number {element(trailer, 2)} does not match GS06 {group.control_number}", "GE")
        self.position += 1
        return group

    def transaction(self) -> TransactionSet:
        start = self.position
        header = self.segments[start]
        if not element(header, 1) or not element(header, 2):
            raise X12Error(
                "the ST segment must name the transaction set (ST01) and its control number (ST02)", start + 1, "ST"
            )
        self.position += 1
        while (segment_id := self.peek()) != "SE":
            if segment_id is None:
                raise X12Error(
                    f"the file ends inside transaction set {element(header, 2)} (ST at segment {start + 1}) "
                    "without its SE trailer: it may be truncated"
                )
            if segment_id in ("ST", "GE", "GS", "IEA", "ISA"):
                raise X12Error(
                    f"transaction set {element(header, 2)} (ST at segment {start + 1}) has no SE trailer "
                    f"before this {segment_id}",
                    self.position + 1,
                    segment_id,
                )
            self.position += 1
        trailer = self.segments[self.position]
        segments = self.segments[start : self.position + 1]
        count = _count(element(trailer, 1), "SE01", self.position + 1, "SE")
        if count != len(segments):
            raise X12Error(
                f"SE01 says {count} segments but the transaction set has {len(segments)}", self.position + 1, "SE"
            )
        if not _same_control_number(element(trailer, 2), element(header, 2)):
            self.mismatch(f"SE02 control number {element(trailer, 2)} does not match ST02 {element(header, 2)}", "SE")
        self.position += 1
        return TransactionSet(segments=segments, start_index=start + 1)


def parse_all(data: str | bytes, *, strict: bool = True) -> list[Interchange]:
    """Every interchange in an X12 file, in order.

    With strict=False a trailer whose control number does not echo its header's (SE02/ST02,
    GE02/GS06, IEA02/ISA13) is recorded in `Interchange.warnings` instead of raising; counts are
    always checked, since a wrong count means segments went missing.
    """
    text = _as_text(data)
    delimiters = _delimiters(text)
    return _Reader(_segments(text, delimiters), delimiters, strict).interchanges()


def parse(data: str | bytes, *, strict: bool = True) -> Interchange:
    """The one interchange in an X12 file; see `parse_all` for files holding several."""
    interchanges = parse_all(data, strict=strict)
    if len(interchanges) != 1:
        raise X12Error(f"this file holds {len(interchanges)} interchanges; read it with parse_all")
    return interchanges[0]


# ---------------------------------------------------------------- writing


def _check_value(value: str, delimiters: Delimiters, segment_id: str) -> str:
    if not isinstance(value, str):
        raise X12Error(f"{segment_id} has a value that is not text: {value!r}", segment_id=segment_id)
    for char, name in ((delimiters.element, "element separator"), (delimiters.segment, "segment terminator")):
        if char in value:
            raise X12Error(f"the value {value!r} in {segment_id} contains the {name} {char!r}", segment_id=segment_id)
    if "\r" in value or "\n" in value:
        raise X12Error(f"the value {value!r} in {segment_id} contains a line break", segment_id=segment_id)
    return value


def write_segments(segments: list[Segment], delimiters: Delimiters = STANDARD, *, line_breaks: bool = False) -> str:
    """Serialize segments, dropping trailing empty elements as X12 requires."""
    lines = []
    known_ids: set[str] = set()
    separator, terminator = delimiters.element, delimiters.segment
    for segment in segments:
        segment_id = segment[0] if segment else ""
        if segment_id not in known_ids:
            if not isinstance(segment_id, str) or not _SEGMENT_ID.fullmatch(segment_id):
                raise X12Error(f"{segment_id!r} is not a segment name (two or three capital letters or digits)")
            known_ids.add(segment_id)
        values = list(segment)
        while len(values) > 1 and values[-1] == "":
            values.pop()
        try:
            line = separator.join(values)
        except TypeError:
            line = None
        # One check of the whole line is enough when it is clean; otherwise find the value at fault.
        if line is None or line.count(separator) != len(values) - 1 or terminator in line or "\r" in line \
                or "\n" in line:
            for value in segment:
                _check_value(value, delimiters, segment_id)
        lines.append(line + terminator)
    return ("\n" if line_breaks else "").join(lines) + ("\n" if line_breaks and lines else "")


def _trimmed(segment: Segment) -> Segment:
    values = list(segment)
    while len(values) > 1 and values[-1] == "":
        values.pop()
    return values


def _fixed(value: str, width: int, what: str) -> str:
    value = value.strip()
    if not value or len(value) > width:
        raise X12Error(f"the {what} must be 1 to {width} characters, not {value!r}")
    return value.ljust(width)


class Writer:
    """Builds one interchange: add transaction-set bodies, then take `text()`.

    Consecutive transaction sets of the same kind and implementation share a functional group.
    """

    def __init__(
        self,
        *,
        sender_id: str,
        receiver_id: str,
        control_number: int,
        sender_qualifier: str = "ZZ",
        receiver_qualifier: str = "ZZ",
        when: dt.datetime | None = None,
        usage: str = "T",
        acknowledgment_requested: bool = False,
        application_sender_id: str | None = None,
        application_receiver_id: str | None = None,
        group_control_number: int = 1,
    ):
        if usage not in ("T", "P"):
            raise X12Error(f"the usage indicator must be T (test) or P (production), not {usage!r}")
        if isinstance(control_number, bool) or not isinstance(control_number, int) or not 0 < control_number < 10**9:
            raise X12Error(
                f"the interchange control number must be a whole number from 1 to 999999999, not {control_number!r}"
            )
        self.delimiters = STANDARD
        self.when = when or dt.datetime.now()
        self.control_number = control_number
        self.isa = [
            "ISA", "00", " " * 10, "00", " " * 10,
            _fixed(sender_qualifier, 2, "sender id qualifier"), _fixed(sender_id, 15, "sender id"),
            _fixed(receiver_qualifier, 2, "receiver id qualifier"), _fixed(receiver_id, 15, "receiver id"),
            self.when.strftime("%y%m%d"), self.when.strftime("%H%M"), self.delimiters.repetition, "00501",
            f"{control_number:09d}", "1" if acknowledgment_requested else "0", usage, self.delimiters.component,
        ]  # fmt: skip
        for value in self.isa:
            _check_value(value, self.delimiters, "ISA")
        self.application_sender_id = application_sender_id or sender_id.strip()
        self.application_receiver_id = application_receiver_id or receiver_id.strip()
        self.groups: list[tuple[Segment, list[list[Segment]]]] = []  # (GS, segments of each transaction set)
        self.interchange_acks: list[Segment] = []  # TA1 segments, written right after the ISA
        # GS06 of the first group: an 837's acknowledgement (999 AK102) names the group by it, so
        # claim files number their group with the interchange's own control number to be found again.
        self.first_group_number = group_control_number
        self._transactions = 0

    def add(self, transaction_set_id: str, body: list[Segment], *, implementation: str) -> str:
        """Add a transaction set (its segments between ST and SE); returns the ST02 it was given."""
        functional_id = FUNCTIONAL_IDS.get(transaction_set_id)
        if functional_id is None:
            raise X12Error(f"don't know the functional group for transaction set {transaction_set_id!r}")
        if not self.groups or self.groups[-1][0][1] != functional_id or self.groups[-1][0][8] != implementation:
            gs = [
                "GS", functional_id, self.application_sender_id, self.application_receiver_id,
                self.when.strftime("%Y%m%d"), self.when.strftime("%H%M"), str(self.first_group_number + len(self.groups)), "X",
                implementation,
            ]  # fmt: skip
            self.groups.append((gs, []))
        self._transactions += 1
        control = f"{self._transactions:04d}"
        segments = [["ST", transaction_set_id, control, implementation]] + [_trimmed(s) for s in body]
        segments.append(["SE", str(len(segments) + 1), control])
        self.groups[-1][1].append(segments)
        return control

    def segments(self) -> list[Segment]:
        out = [self.isa, *self.interchange_acks]
        for gs, transactions in self.groups:
            out.append(gs)
            for segments in transactions:
                out.extend(segments)
            out.append(["GE", str(len(transactions)), gs[6]])
        out.append(["IEA", str(len(self.groups)), f"{self.control_number:09d}"])
        return out

    def text(self, *, line_breaks: bool = False) -> str:
        return write_segments(self.segments(), self.delimiters, line_breaks=line_breaks)


def write_interchange(transaction_sets: list[tuple[str, list[Segment], str]], **writer_options) -> str:
    """A complete interchange from (ST01, body segments, implementation) triples; options as for `Writer`."""
    writer = Writer(**writer_options)
    for transaction_set_id, body, implementation in transaction_sets:
        writer.add(transaction_set_id, body, implementation=implementation)
    return writer.text()
