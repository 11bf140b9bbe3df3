"""A backfill holding the 2023-02-13 error, then the corrected source: no false alert, end to end through Prefect."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.compare import plan_check
from gas_alerts.settings import Settings
from gas_alerts.source import rows_from_csv
from gas_alerts.store import PriceTable
from gas_cli.app import app
from gas_local.delivery import LocalDelivery
from gas_local.provision import provision
from gas_local.socrata import local_socrata
from gas_publisher.alert import alerts_for
from gas_publisher.contract import ATTR_REGIONS_FALLEN
from gas_publisher.week import WeekRecord
from tasks.progress import PROGRESS_ARTIFACT_KEY
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, NOW, snapshot_weeks
from tests.support.steps import weekly_check
from tests.support.streams import stored_item

pytestmark = pytest.mark.slow(seconds=35)

ERROR_WEEK = date(2023, 2, 13)


NEXT_WEEK = date(2023, 2, 20)


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
        wrong.reveal_until(NEXT_WEEK)  # the backfill stores up to ERROR_WEEK and leaves the newest to the check
        result = CliRunner().invoke(app, ["backfill", "--source", wrong.url, "--table", settings.table_name])

    assert result.exit_code == 0, result.output
    stored_weeks = len([week for week in snapshot_weeks(FULL_HISTORY_CSV) if week.week <= ERROR_WEEK])
    assert str(stored_weeks) in result.output
    assert len(list(PriceTable(aws.dynamodb(), settings.table_name).all_weeks())) == stored_weeks
    assert stored_item(settings.table_name, ERROR_WEEK)["prices"]["M"]["albany"] == {"N": "3.85"}
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
        weekly_check(corrected.url, settings.table_name, regions=("albany", "nassau", "new_york_state"))
    stats, delivered = delivery.deliver_once()

    revised = stored_item(settings.table_name, ERROR_WEEK)
    assert revised["prices"]["M"]["albany"] == {"N": "3.57"}
    [entry] = revised["revisions"]["L"]
    assert entry["M"]["old"]["M"]["albany"] == {"N": "3.85"}
    assert entry["M"]["new"]["M"]["albany"] == {"N": "3.57"}
    assert entry["M"]["seen_at"] == {"S": NOW}
    new_week = WeekRecord.from_item(stored_item(settings.table_name, NEXT_WEEK))
    assert new_week.previous_prices["albany"] == Decimal("3.57")
    assert stats.matched == 1, "only the new week's INSERT passes the filter; the revision's MODIFY does not"
    [digest] = [alert for alert, _ in delivered if alert.is_digest]
    assert sorted((alert.region, alert.drop_cents) for alert, _ in delivered if not alert.is_digest) == [
        ("albany", "3"),
        ("nassau", "5"),
        ("new_york_state", "3"),
    ]
    assert (digest.attributes[ATTR_REGIONS_FALLEN], digest.drop_cents) == ("3", "5")
    wrong_weeks = [week for week in snapshot_weeks(FULL_HISTORY_CSV) if week.week <= NEXT_WEEK][-8:]
    stored_wrong = [WeekRecord(week=week.week, prices=week.prices) for week in wrong_weeks[:-1]]
    uncorrected = plan_check(wrong_weeks, stored_wrong, regions=("albany",)).newest
    assert uncorrected is not None
    # Had the source never corrected it, the guard would still hold the wrong week: 7¢ since 2023-02-06, not 31¢.
    [held_back] = alerts_for(uncorrected)
    assert (held_back.drop_cents, held_back.previous_week) == (Decimal(7), date(2023, 2, 6))
