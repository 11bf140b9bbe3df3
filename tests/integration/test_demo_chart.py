"""The demo's chart, drawn from its table on moto: the falls its checks told dotted, the bundled year before them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from gas_alerts.compare import HISTORY_WEEKS, plan_check
from gas_alerts.store import PriceTable
from gas_local.demo import write_chart
from tests.support.chart import read_chart
from tests.support.data import LATEST_SNAPSHOT_CSV, NOW, snapshot_weeks

LATEST = snapshot_weeks(LATEST_SNAPSHOT_CSV)


def test_the_demo_chart_dots_what_its_checks_told_on_a_year_of_the_bundled_data(
    table: PriceTable, tmp_path: Path
) -> None:
    """GIVEN checks of 2026-02-16 (baseline) to 2026-03-02 WHEN charted THEN 52 weeks, only told falls dotted."""
    until = {date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2)}
    for index, week in enumerate(LATEST):
        if week.week in until:
            table.write_check(plan_check(LATEST[index - 7 : index + 1], table.recent_weeks(HISTORY_WEEKS)), NOW)
    told = {
        (region, record.week)
        for record in table.recent_weeks(HISTORY_WEEKS)
        if record.alert
        for region in record.told_regions
    }

    path = write_chart(table, LATEST, tmp_path / "outbox")

    assert path == tmp_path / "outbox" / "prices-2026-03-02.svg"
    panels = read_chart(path.read_text(encoding="utf-8"))
    assert {len(panel.line) for panel in panels} == {52}
    assert {(panel.region, week) for panel in panels for week in panel.alerted} == told
    assert ("glens_falls", date(2026, 2, 23)) in told
