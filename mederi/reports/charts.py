"""Bar charts drawn on the server as SVG: the geometry is worked out here, the template draws it.

The pages allow no scripts and no inline styles, so a chart is plain SVG elements with
attributes (`x`, `width`, `fill`, ...). Bars are horizontal, one row per item, so long provider
and type names stay readable. The chart is a picture of the table beside it, never the only
place a figure appears: it carries `role="img"` and an `aria-label` saying what it shows, and
the table is what a screen reader reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LABEL_WIDTH = 210  # room for the names on the left
BAR_AREA = 330  # the longest bar
VALUE_ROOM = 90  # room for the figure after the longest bar
ROW = 26
BAR_HEIGHT = 18
PAD = 6
MAX_LABEL = 30  # characters shown before a name is shortened (the full name is in the bar's tooltip)
SPOKEN_BARS = 12  # how many bars the summary reads out before pointing at the table
COLOURS = {"blue": "#1f6f8b", "red": "#b23a48", "green": "#2e7d32", "purple": "#6a4c93", "orange": "#b85c00"}


@dataclass(frozen=True)
class Bar:
    label: str
    short_label: str
    text: str  # the figure as the table shows it: "12.5%", "340 min", "7"
    x: str
    y: str
    width: str
    label_y: str
    text_x: str


@dataclass(frozen=True)
class BarChart:
    chart_id: str
    title: str
    summary: str
    bars: list[Bar]
    width: int
    height: int
    fill: str
    label_x: int
    bar_height: int = BAR_HEIGHT

    @property
    def empty(self) -> bool:
        return not self.bars


def _number(value) -> float:
    return float(value) if value is not None else 0.0


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _coordinate(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(chart_id: str, title: str, items, *, scale_max: float | Decimal | None = None,
              colour: str = "blue") -> BarChart:
    """A chart of `items`: (label, value, text shown) each, in the order given.

    Bars are scaled to the largest value, or to `scale_max` when that is larger (100 for
    percentages, so 50% fills half the room even when it is the largest).
    """
    items = [(str(label), _number(value), str(text)) for label, value, text in items]
    largest = max([value for _, value, _ in items] + [_number(scale_max), 0.0])
    bars = []
    for index, (label, value, text) in enumerate(items):
        top = PAD + index * ROW
        length = BAR_AREA * max(value, 0.0) / largest if largest > 0 else 0.0
        bars.append(Bar(label=label, short_label=_shorten(label), text=text, x=str(LABEL_WIDTH),
                        y=_coordinate(top + (ROW - BAR_HEIGHT) / 2), width=_coordinate(length),
                        label_y=_coordinate(top + ROW / 2 + 4), text_x=_coordinate(LABEL_WIDTH + length + 6)))
    spoken = "; ".join(f"{label}: {text}" for label, _, text in items[:SPOKEN_BARS])
    if len(items) > SPOKEN_BARS:
        spoken += f"; and {len(items) - SPOKEN_BARS} more"
    summary = f"Bar chart, {title}. {spoken}." if items else f"Bar chart, {title}: nothing to show."
    return BarChart(chart_id=chart_id, title=title, summary=summary + " Every figure is in the table.", bars=bars,
                    width=LABEL_WIDTH + BAR_AREA + VALUE_ROOM, height=2 * PAD + ROW * len(items),
                    fill=COLOURS.get(colour, colour), label_x=LABEL_WIDTH - 8)


# -- trends over time ----------------------------------------------------------------------------

TREND_WIDTH = 380
TREND_HEIGHT = 150
TREND_LEFT = 48  # room for the value labels
TREND_RIGHT = 12
TREND_TOP = 10
TREND_BOTTOM = 22  # room for the first and last dates
TREND_COLOURS = ["blue", "red", "green", "purple", "orange"]


@dataclass(frozen=True)
class TrendPoint:
    x: str
    y: str
    text: str  # "2024-03-15: 82.5 kg"


@dataclass(frozen=True)
class TrendLine:
    name: str
    stroke: str
    points: list[TrendPoint]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


@dataclass(frozen=True)
class TrendChart:
    chart_id: str
    title: str
    summary: str
    lines: list[TrendLine]
    width: int
    height: int
    y_labels: list[tuple[str, str]]  # (y, text): the highest and lowest value
    x_labels: list[tuple[str, str, str]]  # (x, anchor, text): the first and last day
    baseline_y: str
    left: int = TREND_LEFT
    right: int = TREND_WIDTH - TREND_RIGHT

    @property
    def empty(self) -> bool:
        return not any(line.points for line in self.lines)


def _figure(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def trend_chart(chart_id: str, title: str, series, unit: str = "") -> TrendChart:
    """A line chart of values over time: `series` is [(name, [(moment, value), ...]), ...].

    Time runs left to right at its true spacing (a gap of a year looks like one); the value axis
    spans the lowest to the highest reading of all lines, so small changes stay visible.
    """
    series = [(str(name), sorted(((m, float(v)) for m, v in points), key=lambda p: p[0])) for name, points in series]
    every = [p for _, points in series for p in points]
    if not every:
        return TrendChart(chart_id, title, f"Line chart, {title}: nothing recorded yet.", [], TREND_WIDTH,
                          TREND_HEIGHT, [], [], "0")
    first, last = min(m for m, _ in every), max(m for m, _ in every)
    low, high = min(v for _, v in every), max(v for _, v in every)
    if high == low:
        low, high = low - 1, high + 1
    span = (last - first).total_seconds() or 1.0
    inner_w = TREND_WIDTH - TREND_LEFT - TREND_RIGHT
    inner_h = TREND_HEIGHT - TREND_TOP - TREND_BOTTOM

    def x_of(moment) -> float:
        return TREND_LEFT + (inner_w * (moment - first).total_seconds() / span if last != first else inner_w / 2)

    def y_of(value: float) -> float:
        return TREND_TOP + inner_h * (high - value) / (high - low)

    suffix = f" {unit}" if unit else ""
    lines, spoken = [], []
    for index, (name, points) in enumerate(series):
        stroke = COLOURS[TREND_COLOURS[index % len(TREND_COLOURS)]]
        shown = [TrendPoint(_coordinate(x_of(m)), _coordinate(y_of(v)), f"{m.date().isoformat()}: {_figure(v)}{suffix}")
                 for m, v in points]
        lines.append(TrendLine(name, stroke, shown))
        if points:
            spoken.append(f"{name}: {len(points)} readings from {_figure(points[0][1])}{suffix} on "
                          f"{points[0][0].date().isoformat()} to {_figure(points[-1][1])}{suffix} on "
                          f"{points[-1][0].date().isoformat()}")
    bottom = TREND_HEIGHT - TREND_BOTTOM
    return TrendChart(
        chart_id, title, f"Line chart, {title}. " + "; ".join(spoken) + ".", lines, TREND_WIDTH, TREND_HEIGHT,
        [(_coordinate(y_of(high) + 4), _figure(high)), (_coordinate(y_of(low) + 4), _figure(low))],
        [(str(TREND_LEFT), "start", first.date().isoformat()),
         (str(TREND_WIDTH - TREND_RIGHT), "end", last.date().isoformat())] if last != first
        else [(_coordinate(TREND_LEFT + inner_w / 2), "middle", first.date().isoformat())],
        _coordinate(bottom))
