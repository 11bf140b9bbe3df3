"""Replaying past weeks through the weekly check's rules: the alerts a subscriber would have received."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gas_alerts import replay
from gas_alerts.compare import CheckPlan, plan_check
from gas_alerts.filter_policy import filter_policy
from gas_alerts.prices import WeekPrices
from gas_cli.app import app
from gas_publisher.week import WeekRecord
from tests.support.chart import read_chart
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, snapshot_weeks

LATEST = snapshot_weeks(LATEST_SNAPSHOT_CSV)


FULL = snapshot_weeks(FULL_HISTORY_CSV)


def subjects(report: replay.ReplayReport) -> list[tuple[date, str]]:
    return [(alert.week, alert.subject) for alert in report.alerts]


def test_a_replayed_week_alerts_what_the_weekly_flow_sent() -> None:
    """2026-02-23 replays as the three 1-cent drops the end-to-end flow test receives by email."""
    report = replay.replay(LATEST, start=date(2026, 2, 23), end=date(2026, 2, 23))

    assert report.weeks == [date(2026, 2, 23)]
    assert subjects(report) == [
        (date(2026, 2, 23), "Gas fell 1 cent in Glens Falls: $3.01/gal"),
        (date(2026, 2, 23), "Gas fell 1 cent in Watertown: $3.03/gal"),
        (date(2026, 2, 23), "Gas fell 1 cent in White Plains: $3.09/gal"),
    ]


def test_each_week_goes_through_plan_check_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The replay calls the weekly check's plan_check once per walked week, with that week as the newest."""
    newest: list[date] = []

    def spy(fetched: Sequence[WeekPrices], stored: Sequence[WeekRecord], **options: Any) -> CheckPlan:
        newest.append(max(week.week for week in fetched))
        return plan_check(fetched, stored, **options)

    monkeypatch.setattr(replay, "plan_check", spy)

    report = replay.replay(LATEST, start=date(2025, 1, 1), end=date(2025, 12, 31))

    assert newest == report.weeks
    assert len(newest) == 52


def test_the_first_week_of_the_history_is_a_silent_baseline() -> None:
    """With nothing before it, the first week alerts nobody, as the first run on an empty table does."""
    report = replay.replay(FULL, start=FULL[0].week, end=FULL[0].week)

    assert (report.weeks, report.alerts) == ([FULL[0].week], [])


def test_a_minimum_drop_keeps_drops_of_at_least_that_many_cents() -> None:
    """A drop of exactly the minimum is kept and smaller ones are not: the `>=` of the SNS filter policy."""
    everything = replay.replay(LATEST, start=date(2025, 1, 1), end=date(2025, 12, 31))

    kept = replay.replay(LATEST, start=date(2025, 1, 1), end=date(2025, 12, 31), policy=filter_policy(None, 2))

    assert kept.alerts == [alert for alert in everything.alerts if alert.drop_cents >= 2]
    assert any(alert.drop_cents == 2 for alert in kept.alerts)
    assert any(alert.drop_cents == 1 for alert in everything.alerts)


@pytest.mark.parametrize("regions", [("albany",), ("nassau", "new_york_city")])
def test_only_the_chosen_regions_alert_and_are_counted(regions: Collection[str]) -> None:
    """Regions not chosen never alert, and the per-region count lists exactly the chosen ones."""
    report = replay.replay(LATEST, start=date(2025, 1, 1), end=date(2025, 12, 31), regions=regions)

    assert {alert.region for alert in report.alerts} == set(regions)
    assert set(report.per_region()) == set(regions)
    assert sum(report.per_region().values()) == len(report.alerts)


@pytest.mark.parametrize(("snapshot", "held"), [(FULL_HISTORY_CSV, 17), (LATEST_SNAPSHOT_CSV, 0)])
def test_the_2023_02_13_error_is_held_and_the_next_week_compares_with_the_last_trusted_week(
    snapshot: Path, held: int
) -> None:
    """In the copy with the error, 2023-02-13 is held; every alert is within 5 cents of the corrected drop."""
    corrected = {week.week: week.prices for week in LATEST}

    report = replay.replay(snapshot_weeks(snapshot), start=date(2023, 2, 13), end=date(2023, 2, 20))

    assert len([value for value in report.held if value.week == date(2023, 2, 13)]) == held
    assert report.alerts, "the real drops of 2023-02-20 still alert"
    for alert in report.alerts:
        true_drop = corrected[alert.previous_week][alert.region] - corrected[alert.week][alert.region]
        assert abs(alert.previous_price - alert.price - true_drop) < Decimal("0.05"), alert.subject


def test_the_command_replays_a_csv_with_a_filter_and_counts_per_region() -> None:
    """With --source, --regions and --min-drop-cents it prints each kept alert and a count for each chosen region."""
    args = ["replay", "--from", "2023-02-20", "--to", "2023-02-27", "--source", str(FULL_HISTORY_CSV)]

    result = CliRunner().invoke(app, [*args, "--regions", "albany,new_york_city", "--min-drop-cents", "5"])

    assert result.exit_code == 0, result.output
    assert "2023-02-20  Gas fell 7 cents in Albany: $3.54/gal  (was $3.61 on 2023-02-06" in result.output
    assert "2023-02-20  Gas fell 10 cents in New York City: $3.54/gal  (was $3.64 on 2023-02-06" in result.output
    assert "2023-02-27  Gas fell 6 cents in New York City: $3.48/gal  (was $3.54 on 2023-02-20" in result.output
    assert "Albany" in result.output
    assert "3 alerts in 2 weeks (2023-02-20 → 2023-02-27), filter" in result.output


def test_the_command_draws_the_replayed_weeks_with_the_alerts_the_filter_keeps(tmp_path: Path) -> None:
    """--chart writes an SVG of the window: the chosen regions dotted where the printed alerts are, the rest grey."""
    chart = tmp_path / "albany.svg"
    args = ["replay", "--from", "2023-02-20", "--to", "2023-02-27", "--source", str(FULL_HISTORY_CSV)]

    result = CliRunner().invoke(
        app, [*args, "--regions", "albany,new_york_city", "--min-drop-cents", "5", "--chart", str(chart)]
    )

    assert result.exit_code == 0, result.output
    assert f"Chart: {chart}" in result.output
    panels = {panel.region: panel for panel in read_chart(chart.read_text(encoding="utf-8"))}
    assert len(panels) == 17
    assert {region: sorted(panel.alerted) for region, panel in panels.items() if panel.alerted} == {
        "albany": [date(2023, 2, 20)],
        "new_york_city": [date(2023, 2, 20), date(2023, 2, 27)],
    }
    assert sorted(region for region, panel in panels.items() if not panel.muted) == ["albany", "new_york_city"]


def test_a_chart_in_a_missing_folder_is_refused_before_the_replay() -> None:
    """--chart into a folder that does not exist fails at once with a line naming the folder, and writes nothing."""
    args = ["replay", "--from", "2023-02-20", "--source", str(FULL_HISTORY_CSV), "--chart", "/nonexistent/x.svg"]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 1
    assert "--chart /nonexistent/x.svg: the folder /nonexistent does not exist" in result.output
    assert "alerts in" not in result.output
