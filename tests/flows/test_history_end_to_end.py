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
from gas_publisher.week import WeekRecord
from tasks.progress import PROGRESS_ARTIFACT_KEY
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, NOW, snapshot_weeks
from tests.support.steps import weekly_check
from tests.support.streams import stored_item
from tests.support.told import digest_regions, week_of

pytestmark = pytest.mark.slow(seconds=25)

ERROR_WEEK = date(2023, 2, 13)


NEXT_WEEK = date(2023, 2, 20)
NEWEST = date(2023, 3, 6)


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_the_2023_02_13_error_and_its_correction_send_no_false_alert(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a backfill with the wrong 2023-02-13, the next check records its fix and alerts Albany 3¢, not 31¢.

    The backfill stores the history up to 2023-02-13 and leaves the three newest weeks, which may still alert, to
    the check; the check stores them from the corrected copy and tells each week's falls.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    # The command quiets Prefect through the environment; put it back for the tests that follow.
    monkeypatch.delenv("PREFECT_LOGGING_LEVEL", raising=False)
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata(rows_from_csv(FULL_HISTORY_CSV.read_text(encoding="utf-8"))) as wrong:
        wrong.reveal_until(NEWEST)
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
        corrected.reveal_until(NEWEST)
        checked = weekly_check(corrected.url, settings.table_name)
    stats, delivered = delivery.deliver_once()

    revised = stored_item(settings.table_name, ERROR_WEEK)
    assert revised["prices"]["M"]["albany"] == {"N": "3.57"}
    [entry] = revised["revisions"]["L"]
    assert entry["M"]["old"]["M"]["albany"] == {"N": "3.85"}
    assert entry["M"]["new"]["M"]["albany"] == {"N": "3.57"}
    assert entry["M"]["seen_at"] == {"S": NOW}
    new_week = WeekRecord.from_item(stored_item(settings.table_name, NEXT_WEEK))
    assert new_week.previous_prices["albany"] == Decimal("3.57")
    assert checked.written == [NEXT_WEEK, date(2023, 2, 27), NEWEST]
    assert stats.matched == len(checked.alerting), "only the new weeks' INSERTs pass the filter, not the MODIFY"
    next_week = [email for email, _ in delivered if week_of(email) == NEXT_WEEK]
    [digest] = [email for email in next_week if email.is_digest]
    alerts = {email.region: email.drop_cents for email in next_week if not email.is_digest}
    assert {region: alerts.get(region) for region in ("albany", "nassau", "new_york_state")} == {
        "albany": "3",
        "nassau": "5",
        "new_york_state": "3",
    }
    assert max(Decimal(cents) for cents in alerts.values()) < 10, "no fall is measured from the wrong 2023-02-13"
    assert sorted(digest_regions(digest)) == sorted(alerts)
    wrong_weeks = [week for week in snapshot_weeks(FULL_HISTORY_CSV) if week.week <= NEXT_WEEK][-8:]
    stored_wrong = [WeekRecord(week=week.week, prices=week.prices) for week in wrong_weeks[:-1]]
    uncorrected = plan_check(wrong_weeks, stored_wrong).newest
    assert uncorrected is not None
    # Had the source never corrected it, the guard would still hold the wrong week: 7¢ since 2023-02-06, not 31¢.
    held_back = next(alert for alert in alerts_for(uncorrected) if alert.region == "albany")
    assert (held_back.drop_cents, held_back.previous_week) == (Decimal(7), date(2023, 2, 6))
