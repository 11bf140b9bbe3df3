"""Fault matrix, DynamoDB: throttling and 5xx retried by the client, all-or-nothing writes, concurrent runs."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from gas_alerts import aws
from gas_alerts.compare import CheckPlan
from gas_alerts.settings import Settings
from gas_alerts.store import PriceTable, WriteResult
from gas_local.delivery import LocalDelivery
from gas_local.provision import provision
from gas_local.socrata import local_socrata
from gas_publisher.contract import DATASET_ID, PARTITION_KEY
from gas_publisher.week import Revision, WeekRecord
from tasks.store import write_new_weeks
from tests.support.data import api_row, prices, weekly
from tests.support.dynamo_faults import CLIENT_ATTEMPTS, ERROR_STATUS, LOST_RESPONSE, DynamoFaults
from tests.support.steps import weekly_check
from tests.support.streams import stream_records
from tests.support.told import alerts_by_week, digests_by_week

W1, W2, W3, W4 = weekly(date(2026, 3, 2), 4)


STANDARD_MODE_MAX_BACKOFF = 20.0


def week(day: date, albany: str = "3.40", **more: str) -> WeekRecord:
    return WeekRecord(week=day, prices=prices(albany=albany, **more))


def stored_weeks(table: PriceTable) -> list[date]:
    """The weeks in the table, read without going through any injected fault (Query is used by the code)."""
    items = aws.dynamodb().scan(TableName=table.name)["Items"]
    return sorted(date.fromisoformat(item["sk"]["S"]) for item in items if item[PARTITION_KEY]["S"] == DATASET_ID)


OPERATIONS = ["Query", "PutItem", "TransactWriteItems"]


def exercise(table: PriceTable, operation: str) -> object:
    """Run the product call that issues this operation: the weekly read, a lone new week, or several weeks."""
    if operation == "Query":
        return [record.week for record in table.recent_weeks(8)]
    if operation == "PutItem":
        return table.write_all([week(W2)], [], "2026-03-10T00:00:00+00:00")
    return table.write_all([week(W2), week(W3)], [], "2026-03-17T00:00:00+00:00")


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


def test_several_new_weeks_and_a_revision_are_one_transaction(table: PriceTable, dynamodb_calls: Counter[str]) -> None:
    """Three new weeks plus a revision go out as a single TransactWriteItems call, never as separate writes."""
    table.put_new_week(week(W1, "3.50"))
    dynamodb_calls.clear()
    revision = Revision(W1, old=prices(albany="3.50"), new=prices(albany="3.45"), stored_rev=0)

    assert table.write_all([week(W2), week(W3), week(W4)], [revision], "2026-03-24T00:00:00+00:00")

    assert dynamodb_calls == Counter({"TransactWriteItems": 1})
    assert stored_weeks(table) == [W1, W2, W3, W4]


def test_a_week_stored_meanwhile_cancels_the_whole_transaction(table: PriceTable) -> None:
    """If another run stored one of the weeks first, none of this run's weeks or revisions are written."""
    table.put_new_week(week(W1, "3.50"))
    table.put_new_week(week(W3))  # another run got there first
    revision = Revision(W1, old=prices(albany="3.50"), new=prices(albany="3.45"), stored_rev=0)

    assert not table.write_all([week(W2), week(W3), week(W4)], [revision], "2026-03-24T00:00:00+00:00")

    assert stored_weeks(table) == [W1, W3]
    [first] = [record for record in table.recent_weeks(8) if record.week == W1]
    assert (first.prices, first.rev) == (prices(albany="3.50"), 0)


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
    """A failed write condition, with the items read back as another run's, returns False instead of raising."""
    client = aws.boto_session().client("dynamodb", config=aws.CLIENT_CONFIG)
    records = [week(W2)] if method == "put_item" else [week(W2), week(W3)]
    theirs = [replace(record, write_id="another-run").to_item() for record in records]
    with Stubber(client) as stub:
        stub.add_client_error(method, service_error_code=code, http_status_code=400, modeled_fields=fields)
        stub.add_response("batch_get_item", {"Responses": {"prices": theirs}})
        assert PriceTable(client, "prices").write_all(records, [], "2026-03-17T00:00:00+00:00") is False
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
            PriceTable(client, "prices").write_all([week(W2), week(W3)], [], "2026-03-17T00:00:00+00:00")


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


SOURCE_WEEKS = [
    api_row(W1, albany="3.50", nassau="3.30", new_york_city="3.45"),
    api_row(W2, albany="3.47", nassau="3.30", new_york_city="3.44"),
    api_row(W3, albany="3.40", nassau="3.31", new_york_city="3.41"),
]


@pytest.mark.parametrize("new_weeks", [1, 2], ids=["one-new-week-put", "two-new-weeks-transaction"])
def test_two_runs_at_once_store_one_item_and_send_one_alert(settings: Settings, new_weeks: int) -> None:
    """Two checks racing on the same new week(s) write each item once, and each drop is emailed exactly once."""
    newest = [W2, W3][new_weeks - 1]
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata(SOURCE_WEEKS) as socrata:
        socrata.reveal_until(W1)
        assert weekly_check(socrata.url, settings.table_name).written == [W1]
        socrata.reveal_until(newest)
        both_read, one_write = threading.Barrier(2, timeout=30), threading.Lock()
        attempts: dict[str, int] = {}

        @contextmanager
        def in_turn(now: str, attempt: int) -> Iterator[None]:
            attempts[now] = attempt
            if attempt == 1:
                both_read.wait()  # both runs planned from the same table state before either writes
            # moto checks a condition and writes without a lock across its request threads; DynamoDB does it
            # atomically. Sending the two writes one at a time keeps moto's own race out of this test.
            with one_write:
                yield

        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = {
                now: pool.submit(
                    weekly_check, socrata.url, settings.table_name, now=now, write_gate=partial(in_turn, now)
                )
                for now in ("2026-03-24T10:00:00+00:00", "2026-03-24T10:00:01+00:00")
            }
            outcomes = {now: run.result() for now, run in runs.items()}
    _, delivered = delivery.deliver_once()

    expected_weeks = [W2, W3][:new_weeks]
    winners = [result for result in outcomes.values() if result.written]
    losers = [(attempts[now], result.alerting) for now, result in outcomes.items() if not result.written]
    assert [winner.written for winner in winners] == [expected_weeks]
    assert losers == [(2, [])]
    assert stored_weeks(PriceTable(aws.dynamodb(), settings.table_name)) == [W1, *expected_weeks]
    price_records = [r for r in stream_records(settings.table_name) if r["dynamodb"]["Keys"]["pk"]["S"] == DATASET_ID]
    inserts = [r for r in price_records if r["dynamodb"]["Keys"]["sk"]["S"] != W1.isoformat()]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in inserts] == [
        ("INSERT", day.isoformat()) for day in expected_weeks
    ]
    # Albany and New York City fell in each new week (W2 from W1, and W3 from W2); Nassau did not.
    emails = [email for email, _ in delivered]
    told = {(week, region) for week in expected_weeks for region in ("albany", "new_york_city")}
    assert alerts_by_week(emails) == Counter(dict.fromkeys(told, 1))
    assert digests_by_week(emails) == Counter(dict.fromkeys(told, 1)), "one digest a week"


@pytest.mark.parametrize(
    ("operation", "newest"), [("PutItem", W2), ("TransactWriteItems", W3)], ids=["one-new-week", "two-new-weeks"]
)
def test_a_write_whose_response_is_lost_is_still_the_runs_own_write(
    table: PriceTable, faults: DynamoFaults, operation: str, newest: date
) -> None:
    """DynamoDB applies the write, the response is lost, the retry fails its condition: the run still owns it."""
    with local_socrata(SOURCE_WEEKS) as socrata:
        socrata.reveal_until(W1)
        weekly_check(socrata.url, table.name)
        socrata.reveal_until(newest)
        faults.attempts.clear()
        faults.fail(operation, LOST_RESPONSE, times=1)

        result = weekly_check(socrata.url, table.name)

    assert faults.attempts[operation] == 2, "the first attempt was applied, the client's retry found it stored"
    assert result.written == [W2, W3][: [W2, W3].index(newest) + 1]
    assert [(record.week, record.drops) for record in result.alerting] == [
        (week, ("albany", "new_york_city")) for week in result.written
    ]
