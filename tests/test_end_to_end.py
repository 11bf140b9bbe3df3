"""End to end through Prefect on moto: flow → DynamoDB → stream → publisher → SNS → inbox, with real data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from email import message_from_bytes

import pytest

from flows.check_prices import check_gas_prices
from gas_alerts import aws
from gas_alerts.local.delivery import LocalDelivery
from gas_alerts.local.provision import provision
from gas_alerts.local.socrata import Fault, LocalSocrata, local_socrata
from gas_alerts.prices import SourceDataError
from gas_alerts.settings import Settings
from gas_alerts.source import rows_from_csv
from tests.conftest import LATEST_SNAPSHOT_CSV

WEEK_N = date(2026, 2, 16)
WEEK_N1 = date(2026, 2, 23)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One temporary Prefect server (SQLite) for every flow run of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def socrata() -> Iterator[LocalSocrata]:
    """The real 2017-2026 snapshot served by a local Socrata stand-in."""
    with local_socrata(rows_from_csv(LATEST_SNAPSHOT_CSV.read_text(encoding="utf-8"))) as server:
        yield server


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_baseline_then_a_real_drop_then_a_rerun(settings: Settings, socrata: LocalSocrata) -> None:
    """Week N stores a baseline silently, week N+1 emails exactly its three real drops, a re-run sends nothing."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)

    socrata.reveal_until(WEEK_N)
    baseline = check_gas_prices(source=socrata.url, table_name=settings.table_name)
    _, delivered = delivery.deliver_once()

    assert (baseline.message, baseline.written, delivered) == (f"Baseline stored ({WEEK_N})", [WEEK_N], [])

    socrata.reveal_until(WEEK_N1)
    new_week = check_gas_prices(source=socrata.url, table_name=settings.table_name)
    _, delivered = delivery.deliver_once()

    assert new_week.message == f"New week (newest {WEEK_N1}), 3 alerts"
    assert [(alert.region, alert.drop_cents, alert.subject) for alert, _ in delivered] == [
        ("glens_falls", "1", "Gas fell 1 cent in Glens Falls: $3.01/gal"),
        ("watertown", "1", "Gas fell 1 cent in Watertown: $3.03/gal"),
        ("white_plains", "1", "Gas fell 1 cent in White Plains: $3.09/gal"),
    ]
    email = message_from_bytes(delivered[2][1].read_bytes())
    assert email["Subject"] == "Gas fell 1 cent in White Plains: $3.09/gal"
    assert email["X-Gas-Region"] == "white_plains"
    assert "$3.10/gal" in email.get_payload(decode=True).decode()  # type: ignore[union-attr]

    rerun = check_gas_prices(source=socrata.url, table_name=settings.table_name)
    stats, delivered = delivery.deliver_once()

    assert (rerun.message, rerun.written, delivered, stats.matched) == ("No new week", [], [], 0)
    assert len(socrata.requests) == 3
    assert len(list(settings.outbox.glob("*.eml"))) == 3


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_bad_source_fails_the_run_and_writes_nothing(settings: Settings, socrata: LocalSocrata) -> None:
    """An HTML answer ends the flow run Failed with the cause in its message, and the table stays empty."""
    provision(settings)
    socrata.faults.append(Fault(body=b"<html>Service unavailable</html>", headers={"Content-Type": "text/html"}))

    state = check_gas_prices(source=socrata.url, table_name=settings.table_name, return_state=True)

    assert state.is_failed()
    assert "HTML page" in (state.message or "")
    with pytest.raises(SourceDataError):
        state.result()
    assert aws.dynamodb().scan(TableName=settings.table_name)["Count"] == 0
