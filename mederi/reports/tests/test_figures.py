"""The small rules every report relies on: percentages, weeks of a period, CSV cells and chart bars."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mederi.reports.charts import BAR_AREA, bar_chart
from mederi.reports.exports import _cell
from mederi.reports.selectors import minutes_text, percent, weeks_of


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_a_percentage_is_rounded_half_up_to_one_decimal(part, whole):
    rate = percent(part, whole)

    assert rate == rate.quantize(Decimal("0.1"))
    exact = Decimal(part) * 100 / Decimal(whole)
    assert abs(rate - exact) <= Decimal("0.05")
    assert (rate > exact) == (exact % Decimal("0.1") >= Decimal("0.05"))  # ties go up
    if part <= whole:
        assert Decimal(0) <= rate <= Decimal(100)


def test_percentages_people_check_by_hand():
    assert percent(1, 3) == Decimal("33.3")
    assert percent(2, 3) == Decimal("66.7")
    assert percent(1, 8) == Decimal("12.5")
    assert percent(1, 16) == Decimal("6.3")  # 6.25 rounds up
    assert percent(0, 7) == Decimal("0.0")
    assert percent(3, 0) is None


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(min_value=0, max_value=365))
def test_the_weeks_of_a_period_cover_it_day_by_day_from_monday_to_sunday(first, length):
    last = first + timedelta(days=length)

    weeks = weeks_of(first, last)

    assert weeks[0].first == first and weeks[-1].last == last
    for week, following in zip(weeks, weeks[1:]):
        assert following.first == week.last + timedelta(days=1)
        assert following.first.weekday() == 0 and week.last.weekday() == 6
    assert all(0 <= (w.last - w.first).days <= 6 for w in weeks)


def test_minutes_read_as_a_person_says_them():
    assert [minutes_text(m) for m in (0, 45, 60, 115, 4080)] == ["0 min", "45 min", "1 h", "1 h 55 min", "68 h"]


@given(st.text())
def test_no_csv_cell_starts_a_spreadsheet_formula(text):
    assert not _cell(text).startswith(("=", "+", "-", "@"))
    assert _cell(text) in (text, "'" + text)


def test_figures_stay_figures_in_csv():
    assert [_cell(v) for v in (12, Decimal("33.3"), None, "Dr Ruiz", "=HYPERLINK()")] == [
        "12", "33.3", "", "Dr Ruiz", "'=HYPERLINK()"]


def test_bars_are_as_long_as_their_share_of_the_largest():
    chart = bar_chart("c", "appointments by type", [("Follow-up", 5, "5"), ("New patient", 2, "2"), ("Sick", 0, "0")])

    assert [bar.width for bar in chart.bars] == [str(BAR_AREA), "132", "0"]
    assert len({bar.y for bar in chart.bars}) == 3  # one row each
    assert chart.summary == ("Bar chart, appointments by type. Follow-up: 5; New patient: 2; Sick: 0. "
                             "Every figure is in the table.")


def test_percentages_are_drawn_against_a_hundred_and_long_names_are_shortened():
    name = "Dr Maximiliana Oyelaran-Fitzgerald · North clinic"
    chart = bar_chart("c", "utilization", [(name, Decimal("50.0"), "50.0%")], scale_max=100)

    assert chart.bars[0].width == str(BAR_AREA // 2)
    assert chart.bars[0].short_label.endswith("…") and len(chart.bars[0].short_label) <= 30
    assert chart.bars[0].label == name  # the whole name stays in the bar's tooltip and in the table


def test_a_chart_of_nothing_says_so():
    chart = bar_chart("c", "eligibility failures by payer", [])

    assert chart.empty and "nothing to show" in chart.summary
