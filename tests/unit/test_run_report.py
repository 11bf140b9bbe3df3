"""What a check shows in the Prefect UI, as plain functions: run names, price table, trend, events, summary."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from gas_alerts.compare import HISTORY_WEEKS, history_records, plan_check
from gas_alerts.prices import WeekPrices
from gas_alerts.replay import replay
from gas_alerts.run_report import (
    SUSPECT_EVENT,
    backfill_run_name,
    chart_markdown,
    checked_weeks,
    drop_event,
    neutral_run_name,
    price_rows,
    run_name_for,
    sparkline,
    suspect_events,
    trend_markdown,
)
from gas_alerts.summary import CheckSummary
from gas_publisher.alert import Alert
from gas_publisher.week import Comparison, Revision, WeekRecord
from tests.support.chart import read_chart
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, prices, snapshot_weeks, weekly


def test_a_run_is_named_neutrally_until_the_source_says_which_week_it_checks() -> None:
    """Before the fetch a run is named for when it started (New York time), never for a week; then for its week.

    Runs used to start named for the calendar's week, which the console and the Event Feed then kept although the
    source's newest week was an older one.
    """
    started = neutral_run_name("check", datetime(2026, 11, 30, 15, 0, 5, tzinfo=UTC))
    assert started == "check-started-2026-11-30-100005"
    assert "week" not in started
    assert run_name_for(date(2026, 11, 23)) == "week-2026-11-23"
    assert backfill_run_name(date(2017, 1, 2), date(2026, 4, 6)) == "backfill-2017-01-02-2026-04-06"


def test_price_rows_cover_every_region_with_change_and_alert_status() -> None:
    """One row per region; missing prices stay blank, and whether each region alerted is spelled out."""
    current = WeekPrices(date(2026, 11, 23), prices(albany="3.41", nassau="3.30", new_york_city="3.38"))
    previous = WeekPrices(date(2026, 11, 16), prices(albany="3.45", nassau="3.30", new_york_city="3.45"))

    rows = {row["region"]: row for row in price_rows(current, previous, ["albany"])}

    assert len(rows) == 17
    assert rows["Albany"] == {
        "region": "Albany",
        "this week ($/gal)": "3.41",
        "last week ($/gal)": "3.45",
        "change (¢)": "-4",
        "alerted": "yes",
        "held (data quality)": "",
    }
    assert rows["Nassau"]["change (¢)"] == "+0"
    assert rows["Nassau"]["alerted"] == "no"
    assert rows["New York City"]["alerted"] == "no"
    assert rows["Batavia"]["this week ($/gal)"] == ""


def test_sparkline_runs_from_lowest_to_highest() -> None:
    """The lowest value is ▁ and the highest █; a flat series is a flat line."""
    assert sparkline([Decimal("3.00"), Decimal("3.50"), Decimal("4.00")]) == "▁▄█"
    assert sparkline([Decimal("3.00")] * 3) == "▄▄▄"
    assert sparkline([]) == ""


def test_trend_shows_the_state_average_and_revisions() -> None:
    """The markdown charts the state average over the window and lists what the source revised."""
    weeks = [
        WeekPrices(day, prices(new_york_state=price))
        for day, price in zip(weekly(date(2026, 2, 16), 3), ["2.99", "3.00", "3.22"], strict=True)
    ]
    revision = Revision(date(2026, 2, 16), prices(albany="3.02"), prices(albany="3.01"), 0)

    text = trend_markdown(weeks, [revision])

    assert "`▁▁█`  $2.99 → $3.22 (+23¢ over 3 weeks)" in text
    assert "| 2026-03-02 | 3.22 |" in text
    assert "- 2026-02-16: Albany 3.02 → 3.01" in text


def test_trend_lists_no_week_whose_comparison_alone_was_derived_again() -> None:
    """A week compared again because the week before it was revised is not listed as revised by the source."""
    weeks = [WeekPrices(day, prices(new_york_state="3.00")) for day in weekly(date(2026, 3, 9), 2)]
    revised = Revision(date(2026, 3, 9), prices(albany="3.50"), prices(albany="3.40"), 0)
    compared_again = Revision(date(2026, 3, 16), {}, {}, 0, comparison=Comparison())

    text = trend_markdown(weeks, [revised, compared_again])

    assert "- 2026-03-09: Albany 3.50 → 3.40" in text
    assert "2026-03-16:" not in text


def test_drop_event_names_the_region_as_its_resource() -> None:
    """Each drop event's resource is the region, so an automation can match one region."""
    alert = Alert(date(2026, 11, 23), "new_york_city", Decimal("3.38"), date(2026, 11, 16), Decimal("3.45"))
    event = drop_event(alert)
    assert event["event"] == "gas-alerts.price.dropped"
    assert event["resource"] == {
        "prefect.resource.id": "gas-alerts.region.new_york_city",
        "prefect.resource.name": "New York City",
    }
    assert event["payload"] == {
        "week": "2026-11-23",
        "price": "3.38",
        "previous_price": "3.45",
        "drop_cents": "7",
        "subject": "Gas fell 7 cents in New York City: $3.38/gal",
    }


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        (CheckSummary(date(2026, 4, 6)), "No new week"),
        (CheckSummary(date(2026, 4, 6), [date(2026, 4, 6)], baseline=True), "Baseline stored (2026-04-06)"),
        (
            CheckSummary(date(2026, 4, 6), [date(2026, 4, 6)], alerts=((date(2026, 4, 6), "albany"),)),
            "New week (newest 2026-04-06), 1 alert",
        ),
        (
            CheckSummary(
                date(2026, 4, 6),
                [date(2026, 3, 30), date(2026, 4, 6)],
                alerts=((date(2026, 3, 30), "albany"), (date(2026, 4, 6), "albany"), (date(2026, 4, 6), "utica")),
            ),
            "2 new weeks (newest 2026-04-06), 3 alerts in 2 weeks",
        ),
        (
            CheckSummary(
                date(2026, 4, 6),
                [date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30), date(2026, 4, 6)],
                history=(date(2026, 3, 9), date(2026, 3, 16)),
            ),
            "5 new weeks (newest 2026-04-06), 0 alerts; 2 weeks older than 14 days stored without alert",
        ),
        (
            CheckSummary(
                date(2026, 4, 6), alerts=((date(2026, 3, 30), "utica"),), late=((date(2026, 3, 30), "utica"),)
            ),
            "No new week; falls that became known late, alerted now: Utica (2026-03-30)",
        ),
        (
            CheckSummary(date(2026, 4, 6), [date(2026, 3, 30), date(2026, 4, 6)]),
            "2 new weeks (newest 2026-04-06), 0 alerts",
        ),
        (
            CheckSummary(date(2026, 4, 6), revised=[date(2026, 3, 30)]),
            "No new week; the source revised 1 stored week",
        ),
    ],
)
def test_final_state_message_sums_up_the_check(summary: CheckSummary, message: str) -> None:
    """The flow run's final message says what happened, including revisions the source made."""
    assert summary.message == message


def test_the_price_table_shows_each_regions_base_and_the_values_held() -> None:
    """With the week's comparison, a held value shows its reason and no change, a re-based region its base week."""
    week, before, older = weekly(date(2023, 9, 11), 3)[::-1]
    comparison = Comparison(
        suspect={"syracuse": "isolated move: +0.88 in a week"},
        previous_week=before,
        previous_prices=prices(albany="3.60", syracuse="3.90"),
        since={"syracuse": older},
        drops=("albany",),
    )

    rows = {
        row["region"]: row
        for row in price_rows(WeekPrices(week, prices(albany="3.55", syracuse="4.78")), None, ("albany",), comparison)
    }

    assert (rows["Albany"]["change (¢)"], rows["Albany"]["held (data quality)"]) == ("-5", "")
    assert rows["Syracuse"]["held (data quality)"] == "isolated move: +0.88 in a week"
    assert (rows["Syracuse"]["change (¢)"], rows["Syracuse"]["last week ($/gal)"]) == ("", f"3.90 ({older})")


def test_each_held_value_is_an_event_naming_the_region_and_the_reason() -> None:
    """A held value emits gas-alerts.data.suspect with the region as the resource and the reason in the payload."""
    record = WeekRecord(week=date(2023, 9, 18), prices=prices(syracuse="4.78"), suspect={"syracuse": "isolated move"})

    [event] = suspect_events(record)

    assert event["event"] == SUSPECT_EVENT
    assert event["resource"]["prefect.resource.id"] == "gas-alerts.region.syracuse"
    assert event["payload"] == {"week": "2023-09-18", "price": "4.78", "reason": "isolated move"}


def test_the_final_message_counts_the_values_held() -> None:
    """The state message says how many values the guard held in the weeks written."""
    summary = CheckSummary(date(2023, 9, 18), written=[date(2023, 9, 18)], held=("2023-09-18 Syracuse 4.78: isolated",))
    assert summary.message == "New week (newest 2023-09-18), 0 alerts; 1 value held as suspect (see the logs)"


def test_the_checks_chart_marks_the_week_it_writes_on_the_history_it_read() -> None:
    """A check of 2026-02-23 on a loaded table: 52 weeks drawn, its 3 falls dotted, the silent history not."""
    latest = snapshot_weeks(LATEST_SNAPSHOT_CSV)
    newest = next(index for index, week in enumerate(latest) if week.week == date(2026, 2, 23))
    stored = history_records(latest[:newest])[-HISTORY_WEEKS:]
    fetched = latest[newest - 7 : newest + 1]
    plan = plan_check(fetched, stored)

    weeks = checked_weeks(fetched, stored, plan)

    assert [week.week for week in weeks] == [week.week for week in latest[newest - 51 : newest + 1]]
    assert [(week.week, sorted(week.alerted)) for week in weeks if week.alerted] == [
        (date(2026, 2, 23), ["glens_falls", "watertown", "white_plains"])
    ]


def test_the_chart_artifact_is_an_embedded_svg_image_under_100_kb() -> None:
    """The markdown holds one image whose data: URL decodes to the chart, small enough for the worst real year."""
    full = snapshot_weeks(FULL_HISTORY_CSV)
    # Of every 52 weeks in 2008-2023, these alerted the most (the largest chart).
    report = replay(full, start=date(2019, 5, 13), end=date(2020, 5, 4))

    markdown = chart_markdown(report.chart_weeks(full))

    [source] = re.findall(r"!\[[^\]]*\]\((data:image/svg\+xml;base64,[A-Za-z0-9+/=]+)\)", markdown)
    panels = read_chart(base64.b64decode(source.split(",", 1)[1]).decode())
    assert len(panels) == 17
    assert sum(len(panel.alerted) for panel in panels) == len(report.alerts)
    assert f"{len(report.alerts)} alerts and 0 held values in these 52 weeks" in markdown
    assert len(markdown.encode()) < 100_000
