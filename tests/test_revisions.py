"""Revisions of stored weeks on moto: recorded with the original kept, reported, and never a reason to alert."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.backfill import BackfillSummary, summarize
from gas_alerts.cli import app
from gas_alerts.compare import find_revision, plan_check
from gas_alerts.local.delivery import LocalDelivery
from gas_alerts.local.event_filter import matches
from gas_alerts.local.provision import ensure_table, provision
from gas_alerts.local.socrata import local_socrata
from gas_alerts.settings import Settings
from gas_alerts.source import rows_from_csv
from gas_alerts.store import PriceTable
from gas_publisher.alert import alerts_for
from gas_publisher.contract import stream_filter_pattern
from gas_publisher.week import WeekRecord, week_key
from tasks.backfill import (
    PROGRESS_ARTIFACT_KEY,
    fetch_history,
    plan_history,
    read_stored_history,
    record_revisions,
    write_history,
)
from tasks.compare import compare_weeks
from tasks.fetch import fetch_prices
from tasks.store import read_stored_weeks, write_new_weeks
from tests.conftest import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV
from tests.factories import snapshot_weeks
from tests.test_backfill import stream_records

ERROR_WEEK = date(2023, 2, 13)
NEXT_WEEK = date(2023, 2, 20)
SEEN_AT = "2026-11-28T12:00:00+00:00"


def backfill(table: PriceTable, source: str) -> BackfillSummary:
    """The backfill flow's steps as plain functions, in the flow's order."""
    history = fetch_history.fn(source, None)
    plan = plan_history.fn(history, read_stored_history.fn(table.name), None, SEEN_AT)
    revised = record_revisions.fn(plan.revisions, table.name, SEEN_AT)
    return summarize(plan, revised, write_history.fn(plan.writes, table.name))


def weekly_check(source: str, table_name: str) -> None:
    """The weekly check flow's steps as plain functions, in the flow's order."""
    weeks = fetch_prices.fn(source, 8)
    plan = compare_weeks.fn(weeks, read_stored_weeks.fn(table_name, 8), ("albany", "nassau", "new_york_state"), SEEN_AT)
    write_new_weeks.fn(plan, table_name, SEEN_AT)


def item(table_name: str, week: date) -> dict[str, Any]:
    """The raw stored item of a week."""
    found: dict[str, Any] = aws.dynamodb().get_item(TableName=table_name, Key=week_key(week))["Item"]
    return found


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_the_2023_02_13_error_and_its_correction_send_no_false_alert(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a backfill with the wrong 2023-02-13, the next check records its fix and alerts Albany 3¢, not 31¢."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    # The command quiets Prefect through the environment; put it back for the tests that follow.
    monkeypatch.delenv("PREFECT_LOGGING_LEVEL", raising=False)
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata(rows_from_csv(FULL_HISTORY_CSV.read_text(encoding="utf-8"))) as wrong:
        wrong.reveal_until(ERROR_WEEK)
        result = CliRunner().invoke(app, ["backfill", "--source", wrong.url, "--table", settings.table_name])

    assert result.exit_code == 0, result.output
    stored_weeks = len([week for week in snapshot_weeks(FULL_HISTORY_CSV) if week.week <= ERROR_WEEK])
    assert str(stored_weeks) in result.output
    assert len(list(PriceTable(aws.dynamodb(), settings.table_name).all_weeks())) == stored_weeks
    assert item(settings.table_name, ERROR_WEEK)["prices"]["M"]["albany"] == {"N": "3.85"}
    with get_client(sync_client=True) as client:
        progress = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[PROGRESS_ARTIFACT_KEY])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert [artifact.data for artifact in progress] == [100.0]
    _, delivered = delivery.deliver_once()
    assert delivered == [], "a backfill alerts nobody"

    with local_socrata(rows_from_csv(LATEST_SNAPSHOT_CSV.read_text(encoding="utf-8"))) as corrected:
        corrected.reveal_until(NEXT_WEEK)
        weekly_check(corrected.url, settings.table_name)
    stats, delivered = delivery.deliver_once()

    revised = item(settings.table_name, ERROR_WEEK)
    assert revised["prices"]["M"]["albany"] == {"N": "3.57"}
    [entry] = revised["revisions"]["L"]
    assert entry["M"]["old"]["M"]["albany"] == {"N": "3.85"}
    assert entry["M"]["new"]["M"]["albany"] == {"N": "3.57"}
    assert entry["M"]["seen_at"] == {"S": SEEN_AT}
    new_week = WeekRecord.from_item(item(settings.table_name, NEXT_WEEK))
    assert new_week.previous_prices["albany"] == Decimal("3.57")
    assert stats.matched == 1, "only the new week's INSERT passes the filter; the revision's MODIFY does not"
    assert sorted((alert.region, alert.drop_cents) for alert, _ in delivered) == [
        ("albany", "3"),
        ("nassau", "5"),
        ("new_york_state", "3"),
    ]
    wrong_weeks = [week for week in snapshot_weeks(FULL_HISTORY_CSV) if week.week <= NEXT_WEEK][-8:]
    stored_wrong = [WeekRecord(week=week.week, prices=week.prices) for week in wrong_weeks[:-1]]
    uncorrected = plan_check(wrong_weeks, stored_wrong, regions=("albany",)).newest
    assert uncorrected is not None
    assert [alert.drop_cents for alert in alerts_for(uncorrected)] == [Decimal(31)], "what the error would have sent"


def test_a_second_snapshot_records_exactly_the_weeks_it_revised(settings: Settings) -> None:
    """Backfilling the 2026 snapshot over the 2023 one revises its 14 changed weeks, keeps old values, alerts nobody."""
    ensure_table(aws.dynamodb(), settings.table_name)
    table = PriceTable(aws.dynamodb(), settings.table_name)
    backfill(table, str(FULL_HISTORY_CSV))
    old = {week.week: week for week in snapshot_weeks(FULL_HISTORY_CSV)}
    expected = [
        week.week
        for week in snapshot_weeks(LATEST_SNAPSHOT_CSV)
        if week.week in old and find_revision(WeekRecord(week=week.week, prices=old[week.week].prices), week)
    ]

    summary = backfill(table, str(LATEST_SNAPSHOT_CSV))

    assert summary.revised == expected
    assert len(expected) == 14
    assert (summary.written, summary.skipped) == (123, 360)
    syracuse = item(settings.table_name, date(2023, 9, 18))
    assert syracuse["prices"]["M"]["syracuse"] == {"N": "3.91"}
    assert syracuse["revisions"]["L"][0]["M"]["old"]["M"] == {"syracuse": {"N": "4.78"}}
    assert syracuse["rev"] == {"N": "1"}
    pattern = stream_filter_pattern()
    events = stream_records(settings.table_name)
    assert sum(record["eventName"] == "MODIFY" for record in events) == 14
    assert not [record for record in events if matches(pattern, record)]
    assert backfill(table, str(LATEST_SNAPSHOT_CSV)).revised == [], "a revision is recorded once"


def test_a_backfilled_week_after_a_correction_compares_with_the_corrected_value(settings: Settings) -> None:
    """A week backfilled after its previous week was corrected stores the corrected value as its previous price."""
    ensure_table(aws.dynamodb(), settings.table_name)
    table = PriceTable(aws.dynamodb(), settings.table_name)
    with local_socrata(rows_from_csv(FULL_HISTORY_CSV.read_text(encoding="utf-8"))) as wrong:
        wrong.reveal_until(ERROR_WEEK)
        backfill(table, wrong.url)

    summary = backfill(table, str(LATEST_SNAPSHOT_CSV))

    assert ERROR_WEEK in summary.revised
    following = WeekRecord.from_item(item(settings.table_name, NEXT_WEEK))
    assert following.previous_prices["albany"] == Decimal("3.57")
    assert (following.alert, following.origin) == (False, "backfill")
