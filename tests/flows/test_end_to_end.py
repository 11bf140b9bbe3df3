"""End to end through Prefect on moto: flow → DynamoDB → stream → publisher → SNS → inbox, with real data."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter
from prefect.exceptions import FailedRun

from flows.check_prices import check_gas_prices
from gas_alerts import aws
from gas_alerts.run_report import DROP_EVENT
from gas_alerts.settings import Settings
from gas_alerts.source import rows_from_csv
from gas_local.delivery import LocalDelivery
from gas_local.provision import provision
from gas_local.socrata import Fault, LocalSocrata, local_socrata
from tests.support.chart import read_chart
from tests.support.data import LATEST_SNAPSHOT_CSV

pytestmark = pytest.mark.slow(seconds=15)

WEEK_N = date(2026, 2, 16)
WEEK_N1 = date(2026, 2, 23)


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
    state = check_gas_prices(source=socrata.url, table_name=settings.table_name, return_state=True)
    _, delivered = delivery.deliver_once()

    assert state.result().message == f"New week (newest {WEEK_N1}), 3 alerts"
    assert_shown_in_prefect(state.state_details.flow_run_id)
    alerts = [(alert, path) for alert, path in delivered if not alert.is_digest]
    assert [(alert.region, alert.drop_cents, alert.subject) for alert, _ in alerts] == [
        ("glens_falls", "1", "Gas fell 1 cent in Glens Falls: $3.01/gal"),
        ("watertown", "1", "Gas fell 1 cent in Watertown: $3.03/gal"),
        ("white_plains", "1", "Gas fell 1 cent in White Plains: $3.09/gal"),
    ]
    [digest] = [alert for alert, _ in delivered if alert.is_digest]
    assert digest.subject == "Gas fell in 3 regions in the week of 2026-02-23, by up to 1 cent"
    assert all(f"{name}  " in digest.body for name in ("Glens Falls", "Watertown", "White Plains"))
    email = message_from_bytes(alerts[2][1].read_bytes())
    assert email["Subject"] == "Gas fell 1 cent in White Plains: $3.09/gal"
    assert email["X-Gas-Region"] == "white_plains"
    assert "$3.10/gal" in email.get_payload(decode=True).decode()  # type: ignore[union-attr]

    rerun = check_gas_prices(source=socrata.url, table_name=settings.table_name)
    stats, delivered = delivery.deliver_once()

    assert (rerun.message, rerun.written, delivered, stats.matched) == ("No new week", [], [], 0)
    assert len(socrata.requests) == 3
    assert len(list(settings.outbox.glob("*.eml"))) == 4, "three alerts and the week's digest"


def assert_shown_in_prefect(flow_run_id: UUID | None) -> None:
    """The run is named for its week, its state message sums up, and its artifact and events are there."""
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        )
        events = read_drop_events(client, flow_run_id, expected=3)
    assert run.name == "week-2026-02-23"
    assert run.state is not None
    assert run.state.message == "New week (newest 2026-02-23), 3 alerts"
    table = next(artifact for artifact in artifacts if artifact.key == "gas-prices-latest-week")
    rows = json.loads(str(table.data))
    assert len(rows) == 17
    assert {row["region"]: row["alerted"] for row in rows if row["alerted"] == "yes"} == {
        "Glens Falls": "yes",
        "Watertown": "yes",
        "White Plains": "yes",
    }
    white_plains = next(row for row in rows if row["region"] == "White Plains")
    assert (white_plains["this week ($/gal)"], white_plains["last week ($/gal)"], white_plains["change (¢)"]) == (
        "3.09",
        "3.10",
        "-1",
    )
    assert any(artifact.key == "gas-price-trend" for artifact in artifacts)
    chart = next(artifact for artifact in artifacts if artifact.key == "gas-price-chart")
    image = str(chart.data).split("base64,", 1)[1].split(")", 1)[0]
    panels = read_chart(base64.b64decode(image).decode())
    # The source's 8 weeks, the baseline among them: the table held one week, so the source fills in the rest.
    assert {panel.region: sorted(panel.alerted) for panel in panels if panel.alerted} == {
        "glens_falls": [WEEK_N1],
        "watertown": [WEEK_N1],
        "white_plains": [WEEK_N1],
    }
    assert {len(panel.line) for panel in panels} == {8}
    assert sorted(event.resource.id for event in events) == [
        "gas-alerts.region.glens_falls",
        "gas-alerts.region.watertown",
        "gas-alerts.region.white_plains",
    ]


def read_drop_events(client: SyncPrefectClient, flow_run_id: UUID, expected: int) -> list[Any]:
    """The run's drop events; the server stores events asynchronously, so wait a little for them."""
    event_filter = EventFilter(
        event=EventNameFilter(name=[DROP_EVENT]),
        related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
    )
    deadline = time.monotonic() + 20
    while True:
        events = list(client.read_events(filter=event_filter, limit=50).events)
        if len(events) >= expected or time.monotonic() > deadline:
            return events
        time.sleep(0.5)


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_bad_source_fails_the_run_and_writes_nothing(settings: Settings, socrata: LocalSocrata) -> None:
    """An HTML answer ends the flow run Failed with the cause in its message, and the table stays empty."""
    provision(settings)
    socrata.faults.append(Fault(body=b"<html>Service unavailable</html>", headers={"Content-Type": "text/html"}))

    state = check_gas_prices(source=socrata.url, table_name=settings.table_name, return_state=True)

    assert state.is_failed()
    assert "HTML page" in (state.message or "")
    assert (state.message or "").startswith("the source data is invalid, nothing was written:")
    with pytest.raises(FailedRun, match="HTML page"):
        state.result()
    assert aws.dynamodb().scan(TableName=settings.table_name)["Count"] == 0
