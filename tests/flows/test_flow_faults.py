"""Faults through the real flow: Prefect task retries on top of the HTTP and DynamoDB client retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from prefect.exceptions import FailedRun

from flows.check_prices import check_gas_prices
from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_alerts.source import ATTEMPTS
from gas_alerts.store import PriceTable
from gas_local.provision import ensure_table
from gas_local.socrata import Fault, LocalSocrata, local_socrata
from gas_publisher.contract import DATASET_ID, PARTITION_KEY
from gas_publisher.week import WeekRecord
from tasks.fetch import fetch_prices
from tasks.store import read_stored_weeks
from tests.support.data import api_row, prices, uniform_row, weekly
from tests.support.dynamo_faults import CLIENT_ATTEMPTS, DynamoFaults

pytestmark = pytest.mark.slow(seconds=15)

WEEKS = weekly(date(2026, 10, 5), 8)
W1, W2, W3 = weekly(date(2026, 3, 2), 3)


ROWS = [uniform_row(week, f"3.{index:02d}") for index, week in enumerate(WEEKS)]


@pytest.fixture
def socrata() -> Iterator[LocalSocrata]:
    """A local Socrata-like server holding eight weeks."""
    with local_socrata(ROWS) as server:
        yield server


@pytest.fixture
def instant_task_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the fetch task's two Prefect retries but not their 30 s and 120 s waits (checked before patching)."""
    assert (fetch_prices.retries, fetch_prices.retry_delay_seconds) == (2, [30, 120])
    monkeypatch.setattr(fetch_prices, "retry_delay_seconds", [0, 0])


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server", "no_backoff", "instant_task_retries")
def test_flow_outlasts_a_flaky_source_and_stores_the_week(settings: Settings, socrata: LocalSocrata) -> None:
    """Six 503s exhaust one task attempt's five HTTP tries; the task retry gets through and the run completes."""
    ensure_table(aws.dynamodb(), settings.table_name)
    socrata.faults.extend([Fault(status=503)] * 6)

    state = check_gas_prices(source=socrata.url, table_name=settings.table_name, return_state=True)

    assert state.is_completed(), state.message
    assert state.message == f"Baseline stored ({WEEKS[-1]})"
    assert len(socrata.requests) == 7
    assert aws.dynamodb().scan(TableName=settings.table_name)["Count"] == 1


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server", "no_backoff", "instant_task_retries")
def test_flow_fails_on_a_persistently_unavailable_source_and_writes_nothing(
    settings: Settings, socrata: LocalSocrata
) -> None:
    """A source answering 503 forever ends the run Failed, naming the status, after 3 task tries of 5 requests."""
    ensure_table(aws.dynamodb(), settings.table_name)
    socrata.faults.extend([Fault(status=503)] * 50)

    state = check_gas_prices(source=socrata.url, table_name=settings.table_name, return_state=True)

    assert state.is_failed()
    assert f"HTTP 503 after {ATTEMPTS} attempts" in (state.message or "")
    assert "to work offline, use the bundled export" in (state.message or "")
    with pytest.raises(FailedRun, match="HTTP 503"):
        state.result()
    assert len(socrata.requests) == 3 * ATTEMPTS
    assert aws.dynamodb().scan(TableName=settings.table_name)["Count"] == 0


SOURCE_WEEKS = [
    api_row(W1, albany="3.50", nassau="3.30", new_york_city="3.45"),
    api_row(W2, albany="3.47", nassau="3.30", new_york_city="3.44"),
    api_row(W3, albany="3.40", nassau="3.31", new_york_city="3.41"),
]


def stored_weeks(table: PriceTable) -> list[date]:
    """The weeks in the table, read without going through any injected fault (Query is used by the code)."""
    items = aws.dynamodb().scan(TableName=table.name)["Items"]
    return sorted(date.fromisoformat(item["sk"]["S"]) for item in items if item[PARTITION_KEY]["S"] == DATASET_ID)


@pytest.fixture
def instant_read_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the read task's two Prefect retries but not their 5 s and 30 s waits (checked before patching)."""
    assert (read_stored_weeks.retries, read_stored_weeks.retry_delay_seconds) == (2, [5, 30])
    monkeypatch.setattr(read_stored_weeks, "retry_delay_seconds", [0, 0])


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server", "instant_read_retries")
@pytest.mark.parametrize(
    ("operation", "code", "attempts"),
    [
        # The read task retries twice on top of the client: 3 task runs of 6 attempts each.
        pytest.param("Query", "ThrottlingException", 3 * CLIENT_ATTEMPTS, id="read-throttled"),
        # The write task has no Prefect retries: a write is re-planned by the next run instead.
        pytest.param("TransactWriteItems", "InternalServerError", CLIENT_ATTEMPTS, id="write-failing"),
    ],
)
def test_flow_fails_on_a_persistent_dynamodb_fault_and_writes_nothing(
    table: PriceTable, faults: DynamoFaults, operation: str, code: str, attempts: int
) -> None:
    """A DynamoDB call failing every time ends the run Failed with the AWS error named, and no week is written."""
    table.put_new_week(WeekRecord(week=W1, prices=prices(albany="3.50", nassau="3.30", new_york_city="3.45")))
    faults.attempts.clear()
    faults.fail(operation, code)
    with local_socrata(SOURCE_WEEKS) as socrata:
        state = check_gas_prices(source=socrata.url, table_name=table.name, return_state=True)

    assert state.is_failed()
    assert f"({code})" in (state.message or "")
    assert f"calling the {operation} operation" in (state.message or "")
    assert faults.attempts[operation] == attempts
    assert stored_weeks(table) == [W1]
