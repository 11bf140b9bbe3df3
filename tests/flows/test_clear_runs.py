"""A flow run ends a permanent failure at once with one line as its state message, and names itself for its data."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

from flows.backfill import backfill_prices
from flows.check_prices import check_gas_prices
from gas_alerts import aws
from gas_alerts.run_report import MISSING_REGION_EVENT
from gas_alerts.settings import Settings
from gas_local.provision import ensure_table
from gas_local.socrata import local_socrata
from gas_publisher.contract import SORT_KEY
from gas_publisher.week import WeekRecord
from tests.support.data import LATEST_SNAPSHOT_CSV, api_row, prices

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]


def test_a_permanent_failure_ends_the_run_at_once_with_its_line_as_the_message(
    settings: Settings, dynamodb_calls: Counter[str]
) -> None:
    """A foreign item in the table: the run fails on the first read, no retry, its message naming table and item."""
    ensure_table(aws.dynamodb(), settings.table_name)
    item = WeekRecord(week=date(2026, 3, 2), prices=prices(albany="3.00")).to_item()
    item[SORT_KEY] = {"S": "meta"}
    aws.dynamodb().put_item(TableName=settings.table_name, Item=item)
    dynamodb_calls.clear()

    state = check_gas_prices(source=str(LATEST_SNAPSHOT_CSV), table_name=settings.table_name, return_state=True)

    assert state.is_failed()
    assert (state.message or "").startswith(f"table {settings.table_name} holds an item that is not a week item")
    assert "pk=wuxr-ni2i, sk=meta" in (state.message or "")
    assert dynamodb_calls["Query"] == 1, "read once: a bad item does not get better on a retry"


def test_a_backfill_run_is_named_for_its_weeks_and_ends_with_a_message(settings: Settings) -> None:
    """backfill-<first week>-<last week>, and its summary as the state message."""
    ensure_table(aws.dynamodb(), settings.table_name)

    state = backfill_prices(source=str(LATEST_SNAPSHOT_CSV), table_name=settings.table_name, return_state=True)

    assert state.is_completed()
    assert (state.message or "").startswith("Backfill (2017-01-02 → 2026-04-06): 480 weeks written")
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(str(state.state_details.flow_run_id)))
    assert run.name == "backfill-2017-01-02-2026-04-06"


def test_a_missing_region_is_named_in_the_message_and_is_an_event(settings: Settings) -> None:
    """New York City published last week and missing this week: the state message says so, and an event fires."""
    ensure_table(aws.dynamodb(), settings.table_name)
    full = dict.fromkeys(("new_york_state", "albany", "new_york_city", "nassau"), "3.10")
    weeks = [date(2026, 3, 2) + timedelta(weeks=n) for n in range(2)]
    rows = [api_row(weeks[0], **full), api_row(weeks[1], **{**full, "new_york_city": None})]
    with local_socrata(rows) as source:
        source.reveal_until(weeks[0])
        check_gas_prices(source=source.url, table_name=settings.table_name)
        source.reveal_until(weeks[1])
        state = check_gas_prices(source=source.url, table_name=settings.table_name, return_state=True)

    assert "3 of 4 regions published; missing: New York City" in (state.message or "")
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(str(state.state_details.flow_run_id)))
        events = events_of(client, run.id, MISSING_REGION_EVENT)
    assert run.name == f"week-{weeks[1].isoformat()}"
    assert [event.resource.id for event in events] == ["gas-alerts.region.new_york_city"]


def events_of(client: SyncPrefectClient, flow_run_id: UUID, name: str) -> list[Any]:
    """The run's events of one name; the server stores events asynchronously, so wait a little for them."""
    event_filter = EventFilter(
        event=EventNameFilter(name=[name]), related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"])
    )
    deadline = time.monotonic() + 20
    while True:
        events = list(client.read_events(filter=event_filter, limit=50).events)
        if events or time.monotonic() > deadline:
            return events
        time.sleep(0.5)
