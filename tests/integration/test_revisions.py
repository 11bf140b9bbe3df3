"""Revisions of stored weeks on moto: recorded with the original kept, reported, and never a reason to alert."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from gas_alerts import aws
from gas_alerts.compare import find_revision
from gas_alerts.settings import Settings
from gas_alerts.source import rows_from_csv
from gas_alerts.store import PriceTable
from gas_local.delivery import LocalDelivery
from gas_local.provision import ensure_table, provision
from gas_local.socrata import local_socrata
from gas_publisher.contract import stream_filter_pattern
from gas_publisher.event_filter import matches
from gas_publisher.week import WeekRecord
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, api_row, snapshot_weeks
from tests.support.steps import backfill, weekly_check
from tests.support.streams import stored_item, stream_records

pytestmark = pytest.mark.slow(seconds=20)

ERROR_WEEK = date(2023, 2, 13)


NEXT_WEEK = date(2023, 2, 20)


def test_a_second_snapshot_records_exactly_the_weeks_it_revised(settings: Settings) -> None:
    """Backfilling the 2026 snapshot over the 2023 one revises its 14 changed weeks, keeps old values, alerts nobody."""
    ensure_table(aws.dynamodb(), settings.table_name)
    table = PriceTable(aws.dynamodb(), settings.table_name)
    backfill(str(FULL_HISTORY_CSV), table.name)
    old = {week.week: week for week in snapshot_weeks(FULL_HISTORY_CSV)}
    expected = [
        week.week
        for week in snapshot_weeks(LATEST_SNAPSHOT_CSV)
        if week.week in old and find_revision(WeekRecord(week=week.week, prices=old[week.week].prices), week)
    ]

    summary = backfill(str(LATEST_SNAPSHOT_CSV), table.name)

    assert summary.revised == expected
    assert len(expected) == 14
    assert (summary.written, summary.skipped) == (123, 357), "the first copy's newest 3 weeks were left to the check"
    syracuse = stored_item(settings.table_name, date(2023, 9, 18))
    assert syracuse["prices"]["M"]["syracuse"] == {"N": "3.91"}
    assert syracuse["revisions"]["L"][0]["M"]["old"]["M"] == {"syracuse": {"N": "4.78"}}
    assert syracuse["rev"] == {"N": "1"}
    pattern = stream_filter_pattern()
    events = stream_records(settings.table_name)
    modified = {date.fromisoformat(r["dynamodb"]["Keys"]["sk"]["S"]) for r in events if r["eventName"] == "MODIFY"}
    following = {day + timedelta(weeks=1) for day in expected}
    assert set(expected) <= modified <= set(expected) | following, "only revised weeks and the weeks after them"
    assert not [record for record in events if matches(pattern, record)]
    stored = {record.week: record for record in table.all_weeks()}
    contradictions = [
        day
        for day, record in stored.items()
        if record.previous_week in stored and record.previous_prices != stored[record.previous_week].prices
    ]
    assert contradictions == [], "every week's stored comparison matches its previous week as stored"
    assert backfill(str(LATEST_SNAPSHOT_CSV), table.name).revised == [], "a revision is recorded once"


def test_a_backfilled_week_after_a_correction_compares_with_the_corrected_value(settings: Settings) -> None:
    """A week backfilled after its previous week was corrected stores the corrected value as its previous price."""
    ensure_table(aws.dynamodb(), settings.table_name)
    table = PriceTable(aws.dynamodb(), settings.table_name)
    with local_socrata(rows_from_csv(FULL_HISTORY_CSV.read_text(encoding="utf-8"))) as wrong:
        # The backfill stores up to ERROR_WEEK and leaves the newest three weeks to the check.
        wrong.reveal_until(NEXT_WEEK + timedelta(weeks=2))
        backfill(wrong.url, table.name)

    summary = backfill(str(LATEST_SNAPSHOT_CSV), table.name)

    assert ERROR_WEEK in summary.revised
    following = WeekRecord.from_item(stored_item(settings.table_name, NEXT_WEEK))
    assert following.previous_prices["albany"] == Decimal("3.57")
    assert (following.alert, following.origin) == (False, "backfill")


def test_a_region_published_late_alerts_once_when_its_value_is_a_drop(settings: Settings) -> None:
    """Albany missing from the newest week, then filled in lower than its last week: it alerts once, and only once."""
    w1, w2 = date(2026, 3, 2), date(2026, 3, 9)
    full = {"albany": "3.50", "nassau": "3.40", "utica": "3.30", "buffalo": "3.20", "new_york_state": "3.35"}
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata([api_row(w1, **full)]) as source:
        weekly_check(source.url, settings.table_name)
        source.rows.append(api_row(w2, **{**full, "albany": None, "nassau": "3.41"}))
        weekly_check(source.url, settings.table_name)
        first = [alert for alert, _ in delivery.deliver_once()[1] if not alert.is_digest]
        source.rows[-1] = api_row(w2, **{**full, "albany": "3.44", "nassau": "3.41"})
        late = weekly_check(source.url, settings.table_name)
        second = [alert for alert, _ in delivery.deliver_once()[1] if not alert.is_digest]
        weekly_check(source.url, settings.table_name)
        third = [alert for alert, _ in delivery.deliver_once()[1] if not alert.is_digest]

    assert (first, late.revised) == ([], [w2])
    assert [(alert.region, alert.drop_cents, f"This week ({w2})" in alert.body) for alert in second] == [
        ("albany", "6", True)
    ]
    assert third == [], "the late value alerts once"


def test_only_the_weeks_the_source_revised_are_logged_as_its_revisions(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """W1 revised: its revision is logged; W2, whose comparison alone was derived again, is not called revised."""
    w1, w2 = date(2026, 3, 9), date(2026, 3, 16)
    steady = {"albany": "3.50", "nassau": "3.40", "utica": "3.30", "buffalo": "3.20", "new_york_state": "3.35"}
    ensure_table(aws.dynamodb(), settings.table_name)
    with local_socrata([api_row(w1, **steady)]) as source:
        weekly_check(source.url, settings.table_name)
        source.rows.append(api_row(w2, **{**steady, "albany": "3.45"}))
        weekly_check(source.url, settings.table_name)
        source.rows[0] = api_row(w1, **{**steady, "albany": "3.40"})
        with caplog.at_level("INFO", logger="gas_alerts"):
            result = weekly_check(source.url, settings.table_name)

    assert result.revised == [w1]
    revised = [record.getMessage() for record in caplog.records if "revised" in record.getMessage()]
    assert revised == ["The source revised 2026-03-09: Albany 3.50 → 3.40"]
