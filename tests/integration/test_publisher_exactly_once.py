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
from gas_alerts.compare import record_for, walk
from gas_alerts.settings import Settings
from gas_local.inbox import drain_inbox
from gas_local.provision import LocalResources, provision
from gas_publisher.contract import REGION_IDS
from gas_publisher.handler import process_batch
from gas_publisher.publisher import Publisher
from gas_publisher.week import Origin, WeekRecord
from tests.support.data import LATEST_SNAPSHOT_CSV, snapshot_weeks
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


class LedgerWriteFailsOnce:
    """DynamoDB whose first write of a sent mark to the ledger fails after the client's own retries."""

    def __init__(self, real: Any) -> None:
        self.real, self.failed = real, False

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.real, name)
        if name not in {"batch_write_item", "update_item"}:
            return call

        def maybe_fail(**request: Any) -> Any:
            marks_sent = name == "batch_write_item" or "ADD" in request.get("UpdateExpression", "")
            if marks_sent and not self.failed:
                self.failed = True
                raise aws.dynamodb().exceptions.InternalServerError(
                    {"Error": {"Code": "InternalServerError", "Message": "injected"}}, name
                )
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


def until_it_succeeds(event: dict[str, Any], make: Callable[[], Publisher], attempts: int = 5) -> int:
    """Deliver the batch again while it reports failures, as the event source mapping does; returns the tries."""
    for attempt in range(1, attempts + 1):
        if process_batch(event, make()) == {"batchItemFailures": []}:
            return attempt
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


def test_a_partial_sns_failure_then_a_failed_ledger_write_resends_only_what_failed(settings: Settings) -> None:
    """GIVEN SNS fails one region and the ledger write fails once WHEN redelivered THEN 17 messages, one each."""
    resources = provision(settings)
    event = event_of(all_fell_record())
    flaky = FlakySns(aws.sns(), FailingRegion("nassau", times=1))

    first = process_batch(
        event, publisher(resources, settings, sns=flaky, dynamodb=LedgerWriteFailsOnce(aws.dynamodb()))
    )
    until_it_succeeds(event, lambda: publisher(resources, settings))

    assert first != {"batchItemFailures": []}, "the failed region's record is reported"
    assert received(resources) == Counter(dict.fromkeys(all_fell_record().drops, 1))


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
