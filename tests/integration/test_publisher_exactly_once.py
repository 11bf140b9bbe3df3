"""Each (week, region) is published at most once while its record succeeds, and at least once unless dead-lettered.

The boundary fakes below break SNS or DynamoDB the way the real services fail; the publisher and its ledger
on moto are the real thing. Every test counts the messages the subscriber's inbox received, exactly.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from gas_alerts import aws
from gas_alerts.compare import plan_check, record_for, walk
from gas_alerts.prices import WeekPrices
from gas_alerts.settings import Settings
from gas_local.inbox import drain_inbox
from gas_local.provision import LocalResources, provision
from gas_publisher.contract import REGION_IDS
from gas_publisher.handler import process_batch
from gas_publisher.pacing import MESSAGES_PER_SECOND
from gas_publisher.publisher import BATCH_BUDGET_MS, Publisher
from gas_publisher.week import Origin, WeekRecord
from tests.support.data import LATEST_SNAPSHOT_CSV, prices, snapshot_weeks
from tests.support.fakes import FailingRegion, FlakySns, virtual_pacer

ALL_FELL = date(2022, 7, 18)  # all 17 series fell that week
LAMBDA_TIMEOUT_MS = 60_000


def all_fell_record() -> WeekRecord:
    """The real week of 2022-07-18 as the check writes it: 17 drops, flagged for alerting."""
    weeks = [week for week in snapshot_weeks(LATEST_SNAPSHOT_CSV) if week.week <= ALL_FELL][-9:]
    record = record_for(walk(weeks, {}, REGION_IDS)[-1], alert=True, origin=Origin.WEEKLY, recorded_at="")
    assert len(record.drops) == 17
    return record


def event_of(record: WeekRecord, sequence_number: str = "4100000000000000000001") -> dict[str, Any]:
    """A stream batch holding the record's INSERT."""
    return {
        "Records": [
            {"eventName": "INSERT", "dynamodb": {"SequenceNumber": sequence_number, "NewImage": record.to_item()}}
        ]
    }


def received(resources: LocalResources) -> Counter[str]:
    """How many messages each region's subscriber received."""
    return Counter(alert.region for alert in drain_inbox(aws.sqs(), resources.inbox_url))


class InvocationTimedOutError(BaseException):
    """The Lambda runtime stops a timed-out invocation; nothing in the handler gets to run after it."""


class DiesOnCall:
    """SNS that works until call number `dies_on`, where the invocation is killed mid-call."""

    def __init__(self, real: Any, dies_on: int) -> None:
        self.real, self.dies_on, self.calls = real, dies_on, 0

    def publish_batch(self, **request: Any) -> Any:
        self.calls += 1
        if self.calls == self.dies_on:
            raise InvocationTimedOutError
        return self.real.publish_batch(**request)

    def publish(self, **request: Any) -> Any:
        return self.real.publish(**request)


class LedgerMarkFails:
    """DynamoDB whose first `times` writes of a sent mark to the ledger fail after the client's own retries."""

    def __init__(self, real: Any, times: int = 1, code: str = "InternalServerError") -> None:
        self.real, self.left, self.code = real, times, code

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.real, name)
        if name not in {"transact_write_items", "update_item"}:
            return call

        def maybe_fail(**request: Any) -> Any:
            updates = [item["Update"] for item in request.get("TransactItems", []) if "Update" in item]
            marks_sent = any("ADD" in update.get("UpdateExpression", "") for update in [request, *updates])
            if marks_sent and self.left:
                self.left -= 1
                error = getattr(aws.dynamodb().exceptions, self.code)
                raise error({"Error": {"Code": self.code, "Message": "injected"}}, name)
            return call(**request)

        return maybe_fail


def publisher(
    resources: LocalResources,
    settings: Settings,
    sns: Any = None,
    dynamodb: Any = None,
    clock: Callable[[], float] = time.time,
) -> Publisher:
    """The real publisher on moto, pacing on a virtual clock (the pacing has tests of its own)."""
    topic, table = resources.topic_arn, settings.table_name
    return Publisher(sns or aws.sns(), dynamodb or aws.dynamodb(), topic, table, pacer=virtual_pacer(), clock=clock)


def until_it_succeeds(
    event: dict[str, Any], make: Callable[[], Publisher], attempts: int = 5, consumer: str = ""
) -> int:
    """Deliver the batch again while it reports failures, as the event source mapping does; returns the tries.

    Each retry starts at the first record reported and carries every record after it, as Lambda's does.
    """
    records = event["Records"]
    for attempt in range(1, attempts + 1):
        failed = process_batch({"Records": records}, make(), consumer=consumer)["batchItemFailures"]
        if not failed:
            return attempt
        first = min(failed, key=lambda failure: int(failure["itemIdentifier"]))["itemIdentifier"]
        records = records[[record["dynamodb"]["SequenceNumber"] for record in records].index(first) :]
    raise AssertionError(f"the record still failed after {attempts} deliveries")


def test_an_invocation_killed_during_the_second_publish_call_sends_each_region_once(settings: Settings) -> None:
    """GIVEN 17 drops and an invocation killed in its second PublishBatch WHEN retried THEN 17 messages in all."""
    resources = provision(settings)
    event = event_of(all_fell_record())
    killed = DiesOnCall(aws.sns(), dies_on=2)
    deadline_ms = int(time.time() * 1000) + LAMBDA_TIMEOUT_MS

    with contextlib.suppress(InvocationTimedOutError):
        process_batch(event, publisher(resources, settings, sns=killed), deadline_ms)
    # Lambda retries the batch once the killed invocation is over, so after its deadline.
    later = time.time() + LAMBDA_TIMEOUT_MS / 1000 + 1
    until_it_succeeds(event, lambda: publisher(resources, settings, clock=lambda: later))

    assert received(resources) == Counter(dict.fromkeys(all_fell_record().drops, 1))


class DiesAfterCall(DiesOnCall):
    """SNS that accepts call number `dies_on`, and the invocation is killed before it hears the answer."""

    accepted: list[str]

    def publish_batch(self, **request: Any) -> Any:
        self.calls += 1
        response = self.real.publish_batch(**request)
        if self.calls == self.dies_on:
            self.accepted = [
                entry["MessageAttributes"]["region"]["StringValue"] for entry in request["PublishBatchRequestEntries"]
            ]
            raise InvocationTimedOutError
        return response


def test_an_invocation_killed_between_sns_accepting_a_batch_and_the_mark_sends_that_batch_alone_twice(
    settings: Settings,
) -> None:
    """GIVEN a kill after SNS accepted the first PublishBatch WHEN retried THEN those 4 alone arrive twice.

    The one window an idempotent sink would close (docs/reliability.md, "Exactly when a message is sent twice").
    """
    resources = provision(settings)
    event = event_of(all_fell_record())
    killed = DiesAfterCall(aws.sns(), dies_on=1)
    deadline_ms = int(time.time() * 1000) + LAMBDA_TIMEOUT_MS

    with contextlib.suppress(InvocationTimedOutError):
        process_batch(event, publisher(resources, settings, sns=killed), deadline_ms, MAPPING)
    until_it_succeeds(event, lambda: publisher(resources, settings), consumer=MAPPING)

    assert len(killed.accepted) == MESSAGES_PER_SECOND
    assert received(resources) == Counter(dict.fromkeys(all_fell_record().drops, 1)) + Counter(killed.accepted)


def test_a_partial_sns_failure_then_a_failed_ledger_write_resends_only_what_failed(settings: Settings) -> None:
    """GIVEN SNS fails one region and the ledger write fails once WHEN redelivered THEN 17 messages, one each."""
    resources = provision(settings)
    event = event_of(all_fell_record())
    flaky = FlakySns(aws.sns(), FailingRegion("nassau", times=1))

    first = process_batch(event, publisher(resources, settings, sns=flaky, dynamodb=LedgerMarkFails(aws.dynamodb())))
    until_it_succeeds(event, lambda: publisher(resources, settings))

    assert first != {"batchItemFailures": []}, "the failed region's record is reported"
    assert received(resources) == Counter(dict.fromkeys(all_fell_record().drops, 1))


# Six regions and the state average, enough for the data-quality guard to judge one region against the others.
STEADY = {"new_york_state": "3.50", "albany": "3.50", "nassau": "3.52", "utica": "3.48", "buffalo": "3.46"}
STEADY |= {"syracuse": "3.51", "rochester": "3.49"}
MAPPING = "arn:aws:lambda:us-east-1:123456789012:function:gas-alerts-publisher"


def two_weeks_in_one_check() -> list[WeekRecord]:
    """What one check writes after a baseline: a week where Nassau fell, then a week where Utica fell."""
    w0, w1, w2 = date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)
    week = {day: WeekPrices(day, prices(**values)) for day, values in ((w0, STEADY), (w1, STEADY), (w2, STEADY))}
    week[w1] = WeekPrices(w1, prices(**{**STEADY, "nassau": "3.47"}))
    week[w2] = WeekPrices(w2, prices(**{**STEADY, "nassau": "3.47", "utica": "3.41"}))
    baseline = plan_check([week[w0]], [])
    plan = plan_check(list(week.values()), baseline.writes)
    assert [(record.week, record.drops) for record in plan.writes] == [(w1, ("nassau",)), (w2, ("utica",))]
    return list(plan.writes)


def test_a_published_message_whose_mark_is_throttled_is_not_sent_again_by_the_retry(settings: Settings) -> None:
    """GIVEN Nassau refused once and Utica's mark throttled 4 times WHEN Lambda retries THEN Utica arrives once."""
    resources = provision(settings)
    first, second = two_weeks_in_one_check()
    event = {"Records": [*event_of(first, "4100000000000000000001")["Records"]]}
    event["Records"] += event_of(second, "4100000000000000000002")["Records"]
    flaky = FlakySns(aws.sns(), FailingRegion("nassau", times=1))
    throttled = LedgerMarkFails(aws.dynamodb(), times=4, code="ProvisionedThroughputExceededException")

    response = process_batch(event, publisher(resources, settings, sns=flaky, dynamodb=throttled), consumer=MAPPING)
    until_it_succeeds(event, lambda: publisher(resources, settings), consumer=MAPPING)

    assert response == {"batchItemFailures": [{"itemIdentifier": "4100000000000000000001"}]}
    assert received(resources) == Counter({"nassau": 1, "utica": 1})


def test_a_mark_the_ledger_refuses_until_the_deadline_fails_its_record_and_the_retry_sends_it_again(
    settings: Settings,
) -> None:
    """GIVEN the ledger refuses Utica's mark until the deadline WHEN the batch ends THEN its record is reported.

    The message went out, but nothing durable says so: the retry sends it again, the one duplicate a living
    invocation can cause (docs/reliability.md, "The at-least-once windows").
    """
    resources = provision(settings)
    _, second = two_weeks_in_one_check()
    event = event_of(second, "4100000000000000000002")
    refusing = LedgerMarkFails(aws.dynamodb(), times=1000, code="ProvisionedThroughputExceededException")
    # Just enough time for the batch to start (BATCH_BUDGET_MS) and for a few marks before MARK_MARGIN_MS.
    deadline_ms = int(time.time() * 1000) + BATCH_BUDGET_MS + 2_000

    response = process_batch(event, publisher(resources, settings, dynamodb=refusing), deadline_ms, MAPPING)
    until_it_succeeds(event, lambda: publisher(resources, settings), consumer=MAPPING)

    assert response == {"batchItemFailures": [{"itemIdentifier": "4100000000000000000002"}]}
    assert refusing.left < 1000 - 1, "the mark was tried again"
    assert received(resources) == Counter({"utica": 2})


class SerialConditions:
    """DynamoDB whose conditional writes run one at a time, as DynamoDB guarantees and moto's threads do not."""

    lock = threading.Lock()

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.real, name)
        if name not in {"update_item", "put_item", "batch_write_item"}:
            return call

        def serially(**request: Any) -> Any:
            with self.lock:
                return call(**request)

        return serially


def test_two_consumers_of_the_same_record_at_once_send_each_region_once(settings: Settings) -> None:
    """GIVEN two invocations handling the same record at the same time WHEN both finish THEN 17 messages in all."""
    resources = provision(settings)
    event = event_of(all_fell_record())
    both_read = threading.Barrier(2, timeout=30)

    class ReadsTogether(SerialConditions):
        """Both consumers read the sent ledger (and find nothing sent) before either goes on."""

        def __init__(self, real: Any) -> None:
            super().__init__(real)
            self.read = False

        def batch_get_item(self, **request: Any) -> Any:
            found = self.real.batch_get_item(**request)
            if not self.read:
                self.read = True
                both_read.wait()
            return found

    def consume() -> None:
        process_batch(event, publisher(resources, settings, dynamodb=ReadsTogether(aws.dynamodb())))
        until_it_succeeds(event, lambda: publisher(resources, settings, dynamodb=SerialConditions(aws.dynamodb())))

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert received(resources) == Counter(dict.fromkeys(all_fell_record().drops, 1))
