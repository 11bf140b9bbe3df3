"""Fault matrix, DynamoDB: throttling and 5xx retried by the client, all-or-nothing writes, concurrent runs."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any, cast

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from flows.check_prices import WRITE_ATTEMPTS, check_gas_prices
from gas_alerts import aws
from gas_alerts.compare import CheckPlan, Revision
from gas_alerts.local.delivery import LocalDelivery
from gas_alerts.local.provision import ensure_table, provision
from gas_alerts.local.socrata import LocalSocrata, local_socrata
from gas_alerts.settings import Settings
from gas_alerts.store import PriceTable
from gas_publisher.contract import DATASET_ID, PARTITION_KEY, REGION_IDS
from gas_publisher.week import WeekRecord
from tasks.compare import compare_weeks
from tasks.fetch import fetch_prices
from tasks.store import WriteResult, read_stored_weeks, write_new_weeks
from tests.factories import api_row, prices, weekly
from tests.test_backfill import stream_records

W1, W2, W3, W4 = weekly(date(2026, 3, 2), 4)
# botocore's max_attempts counts retries: 5 retries after the first try (see gas_alerts/aws.py CLIENT_CONFIG).
CLIENT_ATTEMPTS = 1 + 5
STANDARD_MODE_MAX_BACKOFF = 20.0
ERROR_STATUS = {"ThrottlingException": 400, "ProvisionedThroughputExceededException": 400, "InternalServerError": 500}


class _Body:
    """The raw body of a canned HTTP response, in the shape botocore reads."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


@dataclass
class DynamoFaults:
    """Answers chosen operations of the shared DynamoDB client with an AWS error instead of sending them to moto."""

    planned: dict[str, list[str]] = field(default_factory=dict)
    always: dict[str, str] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)

    def fail(self, operation: str, code: str, times: int | None = None) -> None:
        """Fail the next `times` attempts of the operation with this error code (every attempt when None)."""
        if times is None:
            self.always[operation] = code
        else:
            self.planned.setdefault(operation, []).extend([code] * times)

    def answer(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        """A before-send hook: count the attempt, and return an error response when one is due."""
        operation = event_name.rsplit(".", 1)[-1]
        self.attempts[operation] += 1
        pending = self.planned.get(operation)
        code = pending.pop(0) if pending else self.always.get(operation)
        if code is None:
            return None
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected fault"})
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, ERROR_STATUS[code], headers, _Body(body.encode()))


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoFaults]:
    """Faults on the client the flow uses; botocore's retry waits are recorded instead of slept."""
    injected = DynamoFaults()
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=injected.waits.append))
    events = aws.dynamodb().meta.events
    # A before-send handler may return a response, which botocore then uses instead of sending the request.
    events.register("before-send.dynamodb", cast("Callable[..., None]", injected.answer), unique_id="test-faults")
    yield injected
    events.unregister("before-send.dynamodb", unique_id="test-faults")


@pytest.fixture
def table(settings: Settings) -> PriceTable:
    """An empty price table with its stream."""
    ensure_table(aws.dynamodb(), settings.table_name)
    return PriceTable(aws.dynamodb(), settings.table_name)


def week(day: date, albany: str = "3.40", **more: str) -> WeekRecord:
    return WeekRecord(week=day, prices=prices(albany=albany, **more))


def stored_weeks(table: PriceTable) -> list[date]:
    """The weeks in the table, read without going through any injected fault (Query is used by the code)."""
    items = aws.dynamodb().scan(TableName=table.name)["Items"]
    return sorted(date.fromisoformat(item["sk"]["S"]) for item in items if item[PARTITION_KEY]["S"] == DATASET_ID)


# ---- throttling and server errors: the client's standard retry mode ---------------------------------------------

OPERATIONS = ["Query", "PutItem", "TransactWriteItems"]


def exercise(table: PriceTable, operation: str) -> object:
    """Run the product call that issues this operation: the weekly read, a lone new week, or several weeks."""
    if operation == "Query":
        return [record.week for record in table.recent_weeks(8)]
    if operation == "PutItem":
        return table.write_check([week(W2)], [], "2026-03-10T00:00:00+00:00")
    return table.write_check([week(W2), week(W3)], [], "2026-03-17T00:00:00+00:00")


@pytest.mark.parametrize("code", list(ERROR_STATUS))
@pytest.mark.parametrize("operation", OPERATIONS)
def test_transient_errors_are_retried_by_the_client_and_then_succeed(
    table: PriceTable, faults: DynamoFaults, operation: str, code: str
) -> None:
    """Two throttled or failed attempts are retried with bounded backoff; the third attempt does the work."""
    table.put_new_week(week(W1))
    faults.attempts.clear()
    faults.fail(operation, code, times=2)

    outcome = exercise(table, operation)

    assert outcome == ([W1] if operation == "Query" else True)
    assert faults.attempts[operation] == 3
    assert len(faults.waits) == 2
    assert all(0 <= wait <= STANDARD_MODE_MAX_BACKOFF for wait in faults.waits)
    expected = {"Query": [W1], "PutItem": [W1, W2], "TransactWriteItems": [W1, W2, W3]}[operation]
    assert stored_weeks(table) == expected


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServerError"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_persistent_errors_fail_after_the_client_attempts_and_leave_nothing_behind(
    table: PriceTable, faults: DynamoFaults, operation: str, code: str
) -> None:
    """An error on every attempt surfaces after 1 + 5 attempts as the AWS error, and the table is unchanged."""
    table.put_new_week(week(W1))
    faults.attempts.clear()
    faults.fail(operation, code)

    with pytest.raises(ClientError) as raised:
        exercise(table, operation)

    assert raised.value.response["Error"]["Code"] == code
    assert faults.attempts[operation] == CLIENT_ATTEMPTS
    assert len(faults.waits) == CLIENT_ATTEMPTS - 1
    assert stored_weeks(table) == [W1]


# ---- the weekly write is all or nothing ---------------------------------------------------------------------------


def test_several_new_weeks_and_a_revision_are_one_transaction(table: PriceTable, dynamodb_calls: Counter[str]) -> None:
    """Three new weeks plus a revision go out as a single TransactWriteItems call, never as separate writes."""
    table.put_new_week(week(W1, "3.50"))
    dynamodb_calls.clear()
    revision = Revision(W1, old=prices(albany="3.50"), new=prices(albany="3.45"), stored_rev=0)

    assert table.write_check([week(W2), week(W3), week(W4)], [revision], "2026-03-24T00:00:00+00:00")

    assert dynamodb_calls == Counter({"TransactWriteItems": 1})
    assert stored_weeks(table) == [W1, W2, W3, W4]


def test_a_week_stored_meanwhile_cancels_the_whole_transaction(table: PriceTable) -> None:
    """If another run stored one of the weeks first, none of this run's weeks or revisions are written."""
    table.put_new_week(week(W1, "3.50"))
    table.put_new_week(week(W3))  # another run got there first
    revision = Revision(W1, old=prices(albany="3.50"), new=prices(albany="3.45"), stored_rev=0)

    assert not table.write_check([week(W2), week(W3), week(W4)], [revision], "2026-03-24T00:00:00+00:00")

    assert stored_weeks(table) == [W1, W3]
    [first] = [record for record in table.recent_weeks(8) if record.week == W1]
    assert (first.prices, first.rev) == (prices(albany="3.50"), 0)


# ---- a conditional-check failure means "already stored" -----------------------------------------------------------


def cancelled(reasons: Sequence[str]) -> dict[str, Any]:
    """A TransactionCanceledException's modelled fields, one reason per operation."""
    return {"CancellationReasons": [{"Code": code} for code in reasons]}


@pytest.mark.parametrize(
    ("method", "code", "fields"),
    [
        pytest.param("put_item", "ConditionalCheckFailedException", None, id="put-week-already-stored"),
        pytest.param(
            "transact_write_items",
            "TransactionCanceledException",
            cancelled(["None", "ConditionalCheckFailed"]),
            id="transaction-week-already-stored",
        ),
    ],
)
def test_condition_failures_mean_already_stored_not_an_error(
    method: str, code: str, fields: dict[str, Any] | None
) -> None:
    """A failed write condition returns False (another run stored it first) instead of raising."""
    client = aws.boto_session().client("dynamodb", config=aws.CLIENT_CONFIG)
    records = [week(W2)] if method == "put_item" else [week(W2), week(W3)]
    with Stubber(client) as stub:
        stub.add_client_error(method, service_error_code=code, http_status_code=400, modeled_fields=fields)
        assert PriceTable(client, "prices").write_check(records, [], "2026-03-17T00:00:00+00:00") is False
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("reason", ["ThrottlingError", "ValidationError", "TransactionConflict"])
def test_a_transaction_cancelled_for_another_reason_is_an_error(reason: str) -> None:
    """A transaction cancelled for anything but a failed condition raises, so the run fails and can be retried."""
    client = aws.boto_session().client("dynamodb", config=aws.CLIENT_CONFIG)
    with Stubber(client) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            http_status_code=400,
            modeled_fields=cancelled(["None", reason]),
        )
        with pytest.raises(ClientError, match="TransactionCanceledException"):
            PriceTable(client, "prices").write_check([week(W2), week(W3)], [], "2026-03-17T00:00:00+00:00")


def test_the_write_task_reports_a_lost_race_as_a_conflict(table: PriceTable, caplog: pytest.LogCaptureFixture) -> None:
    """write-new-weeks on a week another run just stored returns conflict=True, logs at INFO, and raises nothing."""
    table.put_new_week(week(W1, "3.50"))
    stale_plan = CheckPlan(writes=[week(W2)], latest_stored=W1)
    table.put_new_week(week(W2))  # the other run

    with caplog.at_level(logging.INFO):
        result = write_new_weeks.fn(stale_plan, table.name, "2026-03-10T00:00:00+00:00")

    assert result == WriteResult(conflict=True)
    assert [r.levelname for r in caplog.records if "Another run changed the table" in r.getMessage()] == ["INFO"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---- two runs of the same week at once ----------------------------------------------------------------------------

SOURCE_WEEKS = [
    api_row(W1, albany="3.50", nassau="3.30", new_york_city="3.45"),
    api_row(W2, albany="3.47", nassau="3.30", new_york_city="3.44"),
    api_row(W3, albany="3.40", nassau="3.31", new_york_city="3.41"),
]


@dataclass
class RunOutcome:
    """What one of the concurrent checks did."""

    result: WriteResult
    attempts: int


def weekly_check(
    source: str, table_name: str, now: str, both_read: threading.Barrier, one_write: threading.Lock
) -> RunOutcome:
    """The flow's steps as plain functions, in its order, with its re-read-and-re-plan loop on a conflict."""
    weeks = fetch_prices.fn(source, 8)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        stored = read_stored_weeks.fn(table_name, 8)
        plan = compare_weeks.fn(weeks, stored, REGION_IDS, now)
        if attempt == 1:
            both_read.wait()  # both runs planned from the same table state before either writes
        # moto checks a condition and writes without a lock across its request threads; DynamoDB does it
        # atomically. Sending the two writes one at a time keeps moto's own race out of this test.
        with one_write:
            result = write_new_weeks.fn(plan, table_name, now)
        if not result.conflict:
            return RunOutcome(result, attempt)
    raise AssertionError("the run never stopped conflicting")


@pytest.mark.parametrize("new_weeks", [1, 2], ids=["one-new-week-put", "two-new-weeks-transaction"])
def test_two_runs_at_once_store_one_item_and_send_one_alert(settings: Settings, new_weeks: int) -> None:
    """Two checks racing on the same new week(s) write each item once, and each drop is emailed exactly once."""
    newest = [W2, W3][new_weeks - 1]
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata(SOURCE_WEEKS) as socrata:
        socrata.reveal_until(W1)
        fetch_and_store_baseline(socrata, settings.table_name)
        socrata.reveal_until(newest)
        both_read, one_write = threading.Barrier(2, timeout=30), threading.Lock()
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = [
                pool.submit(weekly_check, socrata.url, settings.table_name, now, both_read, one_write)
                for now in ("2026-03-24T10:00:00+00:00", "2026-03-24T10:00:01+00:00")
            ]
            outcomes = [run.result() for run in runs]
    _, delivered = delivery.deliver_once()

    expected_weeks = [W2, W3][:new_weeks]
    winners = [outcome for outcome in outcomes if outcome.result.written]
    losers = [outcome for outcome in outcomes if not outcome.result.written]
    assert [winner.result.written for winner in winners] == [expected_weeks]
    assert [(loser.attempts, loser.result.alerting) for loser in losers] == [(2, None)]
    assert stored_weeks(PriceTable(aws.dynamodb(), settings.table_name)) == [W1, *expected_weeks]
    price_records = [r for r in stream_records(settings.table_name) if r["dynamodb"]["Keys"]["pk"]["S"] == DATASET_ID]
    inserts = [r for r in price_records if r["dynamodb"]["Keys"]["sk"]["S"] != W1.isoformat()]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in inserts] == [
        ("INSERT", day.isoformat()) for day in expected_weeks
    ]
    # Albany and New York City fell in the newest week (W2 from W1, and W3 from W2); Nassau did not.
    assert sorted(alert.region for alert, _ in delivered) == ["albany", "new_york_city"]
    assert all(f"This week ({newest.isoformat()})" in alert.body for alert, _ in delivered)


def fetch_and_store_baseline(socrata: LocalSocrata, table_name: str) -> None:
    """The first run: store the baseline week."""
    plan = compare_weeks.fn(fetch_prices.fn(socrata.url, 8), [], REGION_IDS, "2026-03-03T10:00:00+00:00")
    assert write_new_weeks.fn(plan, table_name, "2026-03-03T10:00:00+00:00").written == [W1]


# ---- persistent DynamoDB faults through the real flow -------------------------------------------------------------


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
