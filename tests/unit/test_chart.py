"""The price chart: 17 regions' lines, a dot where an alert went out, a ring where the guard held a value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gas_alerts import replay
from gas_alerts.chart import CHART_WEEKS, ChartWeek, chart_weeks, month_ticks, price_chart, price_range
from gas_alerts.filter_policy import filter_policy
from gas_alerts.prices import WeekPrices
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import Origin, WeekRecord
from tests.support.chart import Series, read_chart
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, prices, snapshot_weeks, weekly

LATEST = snapshot_weeks(LATEST_SNAPSHOT_CSV)
YEAR_2022 = (date(2022, 1, 1), date(2022, 12, 31))
# The chart is an artifact and a file people open: a year of it stays well under this.
MAX_CHART_BYTES = 100_000


def marked(panels: list[Series], kind: str) -> set[tuple[str, date]]:
    return {(panel.region, week) for panel in panels for week in getattr(panel, kind)}


def test_the_2022_chart_marks_every_week_the_replay_alerted_on_its_region_line() -> None:
    """The real 2022 (the largest moves): 17 lines, a dot on the line at each replayed alert, under 100 KB."""
    report = replay.replay(LATEST, start=YEAR_2022[0], end=YEAR_2022[1])

    svg = price_chart(report.chart_weeks(LATEST), title="2022")
    panels = read_chart(svg)

    assert [panel.region for panel in panels] == list(REGION_IDS)
    assert all(len(panel.line) == 52 for panel in panels), "one vertex per week of 2022 in every region"
    assert report.alerts
    assert marked(panels, "alerted") == {(alert.region, alert.week) for alert in report.alerts}
    for panel in panels:
        assert all(point in panel.line for point in panel.alerted.values()), f"{panel.region}: dot off its line"
    # The dot of a week sits at that week's place on every panel, later weeks further right.
    places: dict[date, set[float]] = {}
    for panel in panels:
        for week, (x, _) in panel.alerted.items():
            places.setdefault(week, set()).add(x)
    assert all(len(xs) == 1 for xs in places.values())
    assert [min(places[week]) for week in sorted(places)] == sorted(min(xs) for xs in places.values())
    assert len(svg.encode()) < MAX_CHART_BYTES


def test_a_filter_marks_only_the_alerts_it_lets_through_and_greys_the_regions_it_leaves_out() -> None:
    """With Albany and NYC at 5¢ or more, only those alerts are dotted; the other 15 lines are muted and bare."""
    chosen = ("albany", "new_york_city")
    report = replay.replay(
        LATEST, start=YEAR_2022[0], end=YEAR_2022[1], regions=chosen, policy=filter_policy(chosen, 5)
    )

    panels = read_chart(price_chart(report.chart_weeks(LATEST), title="2022", muted=set(REGION_IDS) - set(chosen)))

    assert marked(panels, "alerted") == {(alert.region, alert.week) for alert in report.alerts}
    assert all(alert.drop_cents >= 5 for alert in report.alerts)
    assert [panel.region for panel in panels if not panel.muted] == list(chosen)


def test_held_values_are_ringed_off_the_line() -> None:
    """In the copy with the 2023 errors, each held value has a ring, and the line passes over it."""
    full = snapshot_weeks(FULL_HISTORY_CSV)
    report = replay.replay(full, start=date(2023, 1, 2), end=date(2023, 11, 20))

    panels = read_chart(price_chart(report.chart_weeks(full), title="2023"))

    held = marked(panels, "held")
    assert held == {(value.region, value.week) for value in report.held}
    assert ("syracuse", date(2023, 9, 18)) in held
    assert {region for region, week in held if week == date(2023, 2, 13)} == set(REGION_IDS)
    syracuse = next(panel for panel in panels if panel.region == "syracuse")
    assert syracuse.held[date(2023, 9, 18)] not in syracuse.line
    assert len(syracuse.line) == len(report.weeks) - 2, "both held weeks left out of the line"


def test_a_region_without_a_price_breaks_its_line() -> None:
    """A week the region has no value in is a gap in its line, never a zero."""
    days = weekly(date(2026, 1, 5), 3)
    weeks = [
        ChartWeek(days[0], prices(albany="3.10", nassau="3.20")),
        ChartWeek(days[1], prices(nassau="3.25")),
        ChartWeek(days[2], prices(albany="3.05", nassau="3.15")),
    ]

    panels = {panel.region: panel for panel in read_chart(price_chart(weeks, title="gap"))}

    assert (len(panels["albany"].line), panels["albany"].pieces) == (2, 2)
    assert (len(panels["nassau"].line), panels["nassau"].pieces) == (3, 1)
    assert panels["batavia"].line == []


def test_chart_weeks_mark_what_the_table_says_was_sent() -> None:
    """An alerting week's told regions and a late item's regions are dotted; a baseline or backfill told nothing."""
    days = weekly(date(2026, 1, 5), 4)
    stored = [
        WeekRecord(days[0], prices(albany="3.10"), origin=Origin.BASELINE, told=("albany",)),
        WeekRecord(days[1], prices(albany="3.00"), origin=Origin.BACKFILL, drops=("albany",), told=("albany",)),
        WeekRecord(days[2], prices(albany="2.90", ithaca="3.00"), drops=("albany",), alert=True, told=("albany",)),
        WeekRecord(days[3], prices(albany="2.95", ithaca="2.90"), suspect={"albany": "moved alone"}),
    ]
    late = [WeekRecord(days[3], prices(ithaca="2.90"), drops=("ithaca",), alert=True, late_regions=("ithaca",))]

    weeks = chart_weeks(stored, late=late)

    assert [(week.week, week.alerted) for week in weeks] == [
        (days[0], frozenset()),
        (days[1], frozenset()),
        (days[2], frozenset({"albany"})),
        (days[3], frozenset({"ithaca"})),
    ]
    assert weeks[3].held == {"albany": "moved alone"}


def test_chart_weeks_fill_in_from_the_source_and_keep_the_newest_year() -> None:
    """Weeks the table lacks come from what the source showed, unmarked; only the newest 52 weeks are kept."""
    days = weekly(date(2025, 1, 6), 60)
    source = [WeekPrices(day, prices(albany="3.10")) for day in days]
    stored = [WeekRecord(days[-1], prices(albany="3.00"), drops=("albany",), alert=True, told=("albany",))]

    weeks = chart_weeks(stored, source=source)

    assert len(weeks) == CHART_WEEKS
    assert [week.week for week in weeks] == days[-CHART_WEEKS:]
    assert weeks[-1].prices == prices(albany="3.00"), "the stored week wins over the source's"
    assert [week.week for week in weeks if week.alerted] == [days[-1]]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        ("3.21", "5.02", ("3.0", "5.5", "0.5")),
        ("2.93", "3.31", ("2.9", "3.4", "0.1")),
        ("3.00", "3.00", ("3.00", "3.05", "0.05")),
    ],
)
def test_the_price_range_covers_every_price_in_whole_steps(low: str, high: str, expected: tuple[str, ...]) -> None:
    """The range starts and ends on a grid line, holds every price, and draws at most a handful of lines."""
    bottom, top, step = price_range(Decimal(low), Decimal(high))

    assert (bottom, top, step) == tuple(Decimal(value) for value in expected)


def test_month_ticks_stay_few_however_long_the_window() -> None:
    """A year gets a tick every quarter; nine years get one every few years."""
    assert month_ticks(date(2022, 1, 3), date(2022, 12, 26)) == [
        date(2022, 4, 1),
        date(2022, 7, 1),
        date(2022, 10, 1),
    ]
    assert len(month_ticks(date(2017, 1, 2), date(2026, 4, 6))) <= 4


def test_text_in_the_chart_is_escaped() -> None:
    """A title is text in the SVG, never markup."""
    svg = price_chart([ChartWeek(date(2026, 1, 5), prices(albany="3.00"))], title="<script>x</script> & co")

    assert "<script>" not in svg
    assert read_chart(svg)
