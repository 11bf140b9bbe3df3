"""`gas-alerts replay` on the weeks stored in a table: the same alerts as the file, with reads only."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from gas_alerts import aws, replay
from gas_alerts.compare import plan_backfill
from gas_alerts.settings import Settings
from gas_alerts.store import PriceTable
from gas_cli.app import app
from gas_local.provision import ensure_table
from tests.support.data import LATEST_SNAPSHOT_CSV, snapshot_weeks

LATEST = snapshot_weeks(LATEST_SNAPSHOT_CSV)


def subjects(report: replay.ReplayReport) -> list[tuple[date, str]]:
    return [(alert.week, alert.subject) for alert in report.alerts]


@pytest.fixture
def stored_table(settings: Settings) -> PriceTable:
    """A table holding the 2017-2026 snapshot, written the way the backfill writes it."""
    ensure_table(aws.dynamodb(), settings.table_name)
    table = PriceTable(aws.dynamodb(), settings.table_name)
    table.put_weeks(plan_backfill(LATEST, []).writes)
    return table


def test_the_command_replays_the_stored_table_with_reads_only(stored_table: PriceTable) -> None:
    """`gas-alerts replay` on the stored weeks prints the same alerts as the file, and only Queries the table."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    aws.dynamodb().meta.events.register("before-call.dynamodb", count)
    try:
        result = CliRunner().invoke(
            app, ["replay", "--from", "2026-02-16", "--to", "2026-03-09", "--table", stored_table.name]
        )
    finally:
        aws.dynamodb().meta.events.unregister("before-call.dynamodb", count)

    assert result.exit_code == 0, result.output
    assert set(calls) == {"Query"}
    expected = replay.replay(LATEST, start=date(2026, 2, 16), end=date(2026, 3, 9))
    for week, subject in subjects(expected):
        assert f"{week}  {subject}" in result.output
    assert f"{len(expected.alerts)} alerts in 4 weeks (2026-02-16 → 2026-03-09)" in result.output
