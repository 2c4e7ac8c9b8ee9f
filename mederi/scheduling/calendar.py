"""Laying out a calendar: columns (providers or days) against rows of wall-clock time.

The page is a real table — a row header per five minutes, a column header per provider or day —
so a screen reader announces "Dr Ruiz, 10:30" for every cell. An appointment (or several that
overlap) is one cell spanning its rows; the free and closed stretches between are cells split
at the quarter hours, each free one a link to book that time. No inline styles: heights come
from `rows-N` classes in scheduling.css.

A day of twenty providers is a thousand cells and several hundred appointments, so the table
body is written here as HTML (every value escaped) rather than by the template engine, which
took ten times as long for it. Times are worked out once per appointment, as local minutes of
the day, and the rest is integer arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from html import escape  # the standard library's: Django's lazy-aware one is several times slower here
from urllib.parse import quote

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from mederi.scheduling import practice_time
from mederi.scheduling.availability import Interval
from mederi.scheduling.records import AppointmentView

ROW_MINUTES = 5
MAX_ROWS_CLASS = 96  # rows-1 .. rows-96 exist in the stylesheet (eight hours)
DEFAULT_FIRST = time(7, 0)
DEFAULT_LAST = time(18, 0)
ELIGIBILITY_SHORT = {"active": "Ins OK", "inactive": "Ins inactive", "rejected": "Ins rejected",
                     "failed": "Ins check failed"}


def _appointment_url(appointment_id: str) -> str:
    return reverse("scheduling:appointment", args=[appointment_id])


@dataclass
class Block:
    """One appointment as the calendar shows it."""

    view: AppointmentView
    patient_name: str
    visible: bool  # False: a restricted record the viewer may not see; shown only as busy
    colour: str = "grey"
    eligibility: str = ""  # active, inactive, unknown, ... ("" when never checked or not available)
    eligibility_text: str = ""
    url_prefix: str = ""  # the appointment page's URL up to the id, worked out once per calendar
    room_name: str = ""  # the booked room, when there is one

    @property
    def url(self) -> str:
        if not self.visible:
            return ""
        return f"{self.url_prefix}{self.view.id}/" if self.url_prefix else _appointment_url(self.view.id)

    @property
    def time_text(self) -> str:
        return practice_time.clock_text(self.view.start) if self.view.start else ""

    @property
    def eligibility_short(self) -> str:
        return ELIGIBILITY_SHORT.get(self.eligibility, "Ins ?") if self.eligibility else ""

    @property
    def html(self) -> SafeString:
        return mark_safe(block_html(self, self.time_text))


def block_html(block: Block, clock_text: str) -> str:
    view = block.view
    state = escape(view.state_label)
    who = escape(block.patient_name)
    kind = escape(view.type_display)
    classes = f"appt type-{escape(block.colour)} state-{escape(view.state_key)}"
    if not block.visible:
        return (f'<div class="{classes} restricted" title="{clock_text} {who}"><span class="t">{clock_text}</span> '
                f'<span class="who">{who}</span></div>')
    title = f"{clock_text} {who} · {kind} · {state}"
    room = ""
    if block.room_name:
        title += f" · {escape(block.room_name)}"
        room = f' <span class="room">{escape(block.room_name)}</span>'
    badge = ""
    if block.eligibility:
        words = escape(block.eligibility_text)
        title += f" · {words}"
        badge = (f'<span class="badge elig elig-{escape(block.eligibility)}">{block.eligibility_short}'
                 f'<span class="visually-hidden">: {words}</span></span>')
    return (f'<div class="{classes}" title="{title}"><a href="{escape(block.url)}"><span class="t">{clock_text}</span> '
            f'<span class="who">{who}</span></a> <span class="what">{kind}</span>{room} '
            f'<span class="badge state">{state}</span>{badge}</div>')


@dataclass
class Column:
    key: str
    title: str
    day: date
    practitioner_id: str | None = None
    location_id: str | None = None
    link: str = ""
    open_intervals: list[Interval] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # holidays, time away
    where: str = ""  # a provider's day: the locations worked at
    book_label: str = ""  # "Book with Dr Ruiz", "Book on Tue 1 Dec 2026"
    # A provider's day at several locations: which location each stretch of open time is at.
    open_locations: list[tuple[Interval, str]] = field(default_factory=list)

    @property
    def book_link(self) -> str:
        if not (self.practitioner_id and self.location_id):
            return ""
        return (f"{reverse('scheduling:book')}?practitioner={quote(self.practitioner_id)}"
                f"&location={quote(self.location_id)}&date={self.day.isoformat()}")


@dataclass
class Cell:
    kind: str  # open, closed, appointments
    rowspan: int
    blocks: list[Block] = field(default_factory=list)
    book_url: str = ""
    label: str = ""  # what a screen reader hears for an empty cell

    @property
    def height_class(self) -> str:
        return f"rows-{min(self.rowspan, MAX_ROWS_CLASS)}"


@dataclass
class Row:
    label: str
    quarter: bool
    hour: bool
    cells: list[Cell]


class _Clock:
    """Local minutes of the day for instants, on one column's day (zone looked up once)."""

    def __init__(self, day: date):
        self.zone = practice_time.zone()
        self.midnight = datetime.combine(day, time(0))

    def minutes(self, moment: datetime) -> float:
        return (moment.astimezone(self.zone).replace(tzinfo=None) - self.midnight).total_seconds() / 60


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def grid_bounds(columns: list[Column]) -> tuple[int, int]:
    """First and last minute of the day the grid shows: 07:00-18:00, widened to whole hours
    around any open time or appointment outside it."""
    first, last = DEFAULT_FIRST.hour * 60, DEFAULT_LAST.hour * 60
    for column in columns:
        local = _Clock(column.day)
        spans = [(i.start, i.end) for i in column.open_intervals]
        spans += [(b.view.start, b.view.end) for b in column.blocks if b.view.start and b.view.end]
        for start, end in spans:
            first = min(first, int(max(0, local.minutes(start)) // 60 * 60))
            last = max(last, int(-(-min(24 * 60, local.minutes(end)) // 60) * 60))
    return first, last


def _column_cells(column: Column, first: int, rows: int, bookable: bool, book_prefix: str,
                  url_prefix: str) -> dict[int, Cell]:
    local = _Clock(column.day)
    cells: dict[int, Cell] = {}
    taken = [False] * rows
    # Appointments whose rows overlap share one cell.
    placed: list[list] = []
    for block in sorted(column.blocks, key=lambda b: (b.view.start, b.view.end)):
        block.url_prefix = url_prefix
        top = int((local.minutes(block.view.start) - first) // ROW_MINUTES)
        bottom = int(-(-(local.minutes(block.view.end) - first) // ROW_MINUTES))
        top = max(0, min(top, rows - 1))
        bottom = max(top + 1, min(bottom, rows))
        if placed and top < placed[-1][1]:
            placed[-1][1] = max(bottom, placed[-1][1])
            placed[-1][2].append(block)
        else:
            placed.append([top, bottom, [block]])
    for top, bottom, blocks in placed:
        cells[top] = Cell("appointments", bottom - top, blocks)
        for index in range(top, bottom):
            taken[index] = True
    is_open = [False] * rows
    where = [column.location_id] * rows  # the location to book each row at
    stretches = column.open_locations or [(interval, column.location_id) for interval in column.open_intervals]
    for interval, location_id in stretches:
        begin = local.minutes(interval.start) - first
        end = local.minutes(interval.end) - first
        for index in range(max(0, int(-(-begin // ROW_MINUTES))), min(rows, int(end // ROW_MINUTES))):
            is_open[index] = True
            where[index] = location_id
    book_base = ""
    if bookable and column.practitioner_id:
        book_base = (f"{book_prefix}?practitioner={quote(column.practitioner_id)}"
                     f"&start={column.day.isoformat()}T")
    index = 0
    while index < rows:
        if taken[index]:
            index += 1
            continue
        kind = is_open[index]
        span = 1
        # A run ends at the next quarter hour, an appointment, or a change of open, closed or location.
        while (index + span < rows and not taken[index + span] and (first + (index + span) * ROW_MINUTES) % 15
               and is_open[index + span] == kind and where[index + span] == where[index]):
            span += 1
        minute = first + index * ROW_MINUTES
        cell = Cell("open" if kind else "closed", span,
                    label=f"{column.title} {_hhmm(minute)} {'free' if kind else 'not working'}")
        if kind and book_base and where[index]:
            cell.book_url = f"{book_base}{_hhmm(minute)}&location={quote(where[index])}"
        cells[index] = cell
        index += span
    return cells


def layout(columns: list[Column], *, bookable: bool = True) -> list[Row]:
    """The rows of the table: each a time label and the cells that start in that row."""
    first, last = grid_bounds(columns)
    rows = max(1, (last - first) // ROW_MINUTES)
    book_prefix = reverse("scheduling:book")
    url_prefix = appointment_url_prefix()
    per_column = [_column_cells(column, first, rows, bookable, book_prefix, url_prefix) for column in columns]
    table = []
    for index in range(rows):
        minute = first + index * ROW_MINUTES
        quarter = minute % 15 == 0
        cells = [cells[index] for cells in per_column if index in cells]
        table.append(Row(_hhmm(minute) if quarter else "", quarter, minute % 60 == 0, cells))
    return table


def body_html(rows: list[Row]) -> SafeString:
    """The <tbody> rows of the calendar table."""
    out = []
    for row in rows:
        css = ' class="hour"' if row.hour else ' class="quarter"' if row.quarter else ""
        parts = [f'<tr{css}><th scope="row" class="time">{row.label}</th>']
        for cell in row.cells:
            if cell.kind == "appointments":
                inner = "".join(block_html(b, practice_time.clock_text(b.view.start)) for b in cell.blocks)
                parts.append(f'<td rowspan="{cell.rowspan}" class="appts"><div class="stack {cell.height_class}">'
                             f"{inner}</div></td>")
            elif cell.book_url:
                parts.append(f'<td rowspan="{cell.rowspan}" class="open"><a class="slot {cell.height_class}" '
                             f'href="{escape(cell.book_url)}" tabindex="-1" aria-label="Book {escape(cell.label)}">'
                             "</a></td>")
            else:
                parts.append(f'<td rowspan="{cell.rowspan}" class="{cell.kind}"></td>')
        parts.append("</tr>\n")
        out.append("".join(parts))
    return mark_safe("".join(out))


def hidden_html(blocks: list[Block]) -> SafeString:
    """The list of cancelled (and entered-in-error) appointments shown below the grid."""
    items = []
    for block in blocks:
        when = block.time_text
        if not block.visible:
            items.append(f"<li>{when} restricted record</li>")
            continue
        reason = f" ({escape(block.view.cancel_text)})" if block.view.cancel_text else ""
        items.append(f'<li><a href="{escape(block.url)}">{when} {escape(block.patient_name)}</a> · '
                     f"{escape(block.view.type_display)} · {escape(block.view.state_label)}{reason}</li>")
    return mark_safe("".join(items))


def appointment_url_prefix() -> str:
    """/schedule/appointments/ — the appointment page's URL without the id."""
    return _appointment_url("x")[:-2]
