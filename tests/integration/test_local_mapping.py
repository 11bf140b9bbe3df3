"""The local event source mapping behaves as Lambda's does, point by point from AWS's documentation (moto streams).

- Records older than MaximumRecordAgeInSeconds are not delivered: they go to the on-failure destination with the
  condition RecordAgeExceeded.
- Splitting a batch after a function error does not use up the retry quota, and happens with no retries too.
- The function's context reports its configured timeout.
- A stream's shards are processed at the same time, one batch per shard at a time.
- A response that is not an object fails the whole batch.
- The on-failure record carries what Lambda sends.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.delivery import LocalDelivery
from gas_local.provision import ensure_queue, ensure_table, provision
from gas_local.stream_runner import Checkpoint, DeliveryStats, StreamRunner, sqs_dead_letter
from gas_ops.resources import find_topic_arn
from gas_publisher.contract import (
    FUNCTION_TIMEOUT_SECONDS,
    LATE_PARTITION,
    MAPPING,
    PRICE_PARTITION,
    REGION_IDS,
    stream_filter_pattern,
)
from gas_publisher.handler import process_batch
from gas_publisher.publisher import Publisher
from gas_publisher.week import WeekRecord
from tests.support.data import prices, weekly

pytestmark = pytest.mark.slow(seconds=15)

WEEKS = weekly(date(2026, 1, 5), 6)
SIX_HOURS = MAPPING["maximum_record_age_in_seconds"]


@dataclass
class Spy:
    """A handler that records each invocation (weeks, context) and answers as told."""

    poison: set[str] = field(default_factory=set)
    answer: Any = None
    batches: list[list[str]] = field(default_factory=list)
    remaining_ms: list[int] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        weeks = [record["dynamodb"]["NewImage"]["sk"]["S"] for record in event["Records"]]
        self.batches.append(weeks)
        self.remaining_ms.append(context.get_remaining_time_in_millis())
        if self.poison & set(weeks):
            raise RuntimeError("this record crashes the function")
        return self.answer if self.answer is not None else {"batchItemFailures": []}


def put_alerts(settings: Settings, weeks: list[date]) -> str:
    """Alert items straight into the table; returns its stream's ARN."""
    stream_arn = ensure_table(aws.dynamodb(), settings.table_name)
    for day in weeks:
        record = WeekRecord(week=day, prices=prices(albany="3.00"), alert=True, drops=())
        aws.dynamodb().put_item(TableName=settings.table_name, Item=record.to_item())
    return stream_arn


def runner(settings: Settings, handler: Any, stream_arn: str, **options: Any) -> tuple[StreamRunner, str]:
    """A runner on the table's stream with an SQS on-failure destination; returns it and the queue's URL."""
    queue, _ = ensure_queue(aws.sqs(), settings.dead_letter_queue)
    built = StreamRunner(
        streams=aws.dynamodb_streams(),
        stream_arn=stream_arn,
        handler=handler,
        checkpoint=Checkpoint(settings.state_dir / "checkpoints.json"),
        pattern=stream_filter_pattern(),
        retry_delay=0,
        dead_letter=sqs_dead_letter(aws.sqs(), queue),
        **options,
    )
    return built, queue


def on_failure_records(queue: str) -> list[dict[str, Any]]:
    """What the on-failure destination received."""
    messages = aws.sqs().receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_records_older_than_the_maximum_age_go_to_the_destination_with_record_age_exceeded(
    settings: Settings,
) -> None:
    """Seen seven hours after they were written, the records reach no invocation; the destination says why."""
    spy = Spy()
    stream_arn = put_alerts(settings, WEEKS[:2])
    later = time.time() + SIX_HOURS + 3600
    mapping, queue = runner(settings, spy, stream_arn, clock=lambda: later)

    stats = DeliveryStats()
    mapping.poll(stats)

    assert spy.batches == []
    [record] = on_failure_records(queue)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["DDBStreamBatchInfo"]["batchSize"] == 2
    assert stats.dead_lettered == 2


def test_records_within_the_maximum_age_are_delivered(settings: Settings) -> None:
    """Five hours after the write, the records are delivered as usual."""
    spy = Spy()
    stream_arn = put_alerts(settings, WEEKS[:2])
    later = time.time() + SIX_HOURS - 3600
    mapping, queue = runner(settings, spy, stream_arn, clock=lambda: later)

    mapping.poll(DeliveryStats())

    assert spy.batches == [[day.isoformat() for day in WEEKS[:2]]]
    assert on_failure_records(queue) == []


@pytest.mark.parametrize("retries", [0, 2])
def test_splitting_a_failed_batch_uses_no_retries(settings: Settings, retries: int) -> None:
    """A batch of four whose last record crashes the function is halved down to it, whatever the retry quota.

    The poison record alone is then tried 1 + retries times (splitting used none of them) and goes to the
    destination; the three others are delivered.
    """
    poison = WEEKS[3].isoformat()
    spy = Spy(poison={poison})
    stream_arn = put_alerts(settings, WEEKS[:4])
    mapping, queue = runner(settings, spy, stream_arn, batch_size=4, max_retry_attempts=retries, bisect_on_error=True)

    mapping.poll(DeliveryStats())

    delivered = {week for batch in spy.batches if poison not in batch for week in batch}
    assert delivered == {day.isoformat() for day in WEEKS[:3]}
    assert spy.batches.count([poison]) == 1 + retries
    [record] = on_failure_records(queue)
    assert (record["DDBStreamBatchInfo"]["batchSize"], record["requestContext"]["approximateInvokeCount"]) == (
        1,
        1 + retries,
    )


def test_the_function_sees_its_configured_timeout(settings: Settings) -> None:
    """The context counts down from the function's timeout (contract.json, as Terraform sets it), not 30 s."""
    spy = Spy()
    stream_arn = put_alerts(settings, WEEKS[:1])
    mapping, _ = runner(settings, spy, stream_arn)
    shorter, _ = runner(settings, spy, stream_arn, function_timeout_seconds=15)

    mapping.poll(DeliveryStats())
    put_alerts(settings, WEEKS[1:2])
    shorter.poll(DeliveryStats())

    first, second = spy.remaining_ms
    assert FUNCTION_TIMEOUT_SECONDS * 1000 - 2000 < first <= FUNCTION_TIMEOUT_SECONDS * 1000
    assert 13_000 < second <= 15_000


@pytest.mark.parametrize("answer", [["batchItemFailures"], "ok", 42], ids=["list", "string", "number"])
def test_a_response_that_is_not_an_object_fails_the_whole_batch(settings: Settings, answer: Any) -> None:
    """The runner does not crash: the batch is retried, then goes to the destination, as on AWS."""
    spy = Spy(answer=answer)
    stream_arn = put_alerts(settings, WEEKS[:2])
    mapping, queue = runner(settings, spy, stream_arn, max_retry_attempts=1)

    stats = DeliveryStats()
    mapping.poll(stats)

    assert len(spy.batches) == 2
    assert stats.dead_lettered == 2
    assert [record["DDBStreamBatchInfo"]["batchSize"] for record in on_failure_records(queue)] == [2]


def test_the_on_failure_record_carries_what_lambda_sends(settings: Settings) -> None:
    """requestContext, responseContext, version, timestamp, and the batch's pointer with its arrival times."""
    spy = Spy(poison={WEEKS[0].isoformat()})
    stream_arn = put_alerts(settings, WEEKS[:1])
    mapping, queue = runner(settings, spy, stream_arn, max_retry_attempts=0, function_arn="arn:aws:lambda:fn")

    mapping.poll(DeliveryStats())

    [record] = on_failure_records(queue)
    assert set(record) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    assert set(record["requestContext"]) == {"requestId", "functionArn", "condition", "approximateInvokeCount"}
    assert record["requestContext"]["functionArn"] == "arn:aws:lambda:fn"
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["version"] == "1.0"
    info = record["DDBStreamBatchInfo"]
    assert set(info) == {
        "shardId",
        "startSequenceNumber",
        "endSequenceNumber",
        "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord",
        "batchSize",
        "streamArn",
    }
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")


# ---- two shards at once -------------------------------------------------------------------------------------------


class OneShardPerPartition:
    """The table's stream as DynamoDB may lay it out: the price and the late partition on shards of their own.

    moto gives a table one shard. This reads it through the real Streams API and shows its records split by
    partition key into two open shards, each with its own iterator, as DescribeStream, GetShardIterator and
    GetRecords document them.
    """

    SHARDS: ClassVar[dict[str, str]] = {"shardId-prices": PRICE_PARTITION, "shardId-late": LATE_PARTITION}

    def __init__(self, stream_arn: str) -> None:
        self.stream_arn = stream_arn
        self.real = aws.dynamodb_streams()

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        shards = [{"ShardId": shard, "SequenceNumberRange": {"StartingSequenceNumber": "0"}} for shard in self.SHARDS]
        return {"StreamDescription": {"StreamArn": self.stream_arn, "Shards": shards}}

    def get_shard_iterator(self, ShardId: str, SequenceNumber: str = "0", **_: Any) -> dict[str, str]:  # noqa: N803
        return {"ShardIterator": f"{ShardId}|{SequenceNumber}"}

    def get_records(self, ShardIterator: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        shard, after = ShardIterator.split("|")
        [real_shard] = self.real.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        iterator = self.real.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=real_shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = [
            record
            for record in self.real.get_records(ShardIterator=iterator, Limit=1000)["Records"]
            if record["dynamodb"]["Keys"]["pk"]["S"] == self.SHARDS[shard]
            and int(record["dynamodb"]["SequenceNumber"]) > int(after)
        ]
        last = records[-1]["dynamodb"]["SequenceNumber"] if records else after
        return {"Records": records, "NextShardIterator": f"{shard}|{last}"}


def test_two_shards_are_delivered_at_once_and_every_subscription_stays_within_ten_a_second(
    settings: Settings,
) -> None:
    """A week's 17 falls on the price shard and a late item's 16 on the late shard: both invocations run at once.

    Each invocation runs in an execution environment of its own (its own publisher and pacer), as on AWS. The
    all-regions subscription and the digest subscription still never receive more than 10 messages in a second.
    """
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    all_fell = dict.fromkeys(REGION_IDS, "3.00")
    before = dict.fromkeys(REGION_IDS, "3.20")
    week = WeekRecord(
        week=WEEKS[5],
        prices=prices(**all_fell),
        previous_week=WEEKS[4],
        previous_prices=prices(**before),
        drops=REGION_IDS,
        alert=True,
    )
    late_regions = REGION_IDS[1:]
    late = WeekRecord(
        week=WEEKS[4],
        prices=prices(**dict.fromkeys(late_regions, "3.20")),
        previous_week=WEEKS[3],
        previous_prices=prices(**dict.fromkeys(late_regions, "3.40")),
        drops=late_regions,
        alert=True,
        late_regions=late_regions,
    )
    for record in (week, late):
        aws.dynamodb().put_item(TableName=settings.table_name, Item=record.to_item())
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    topic = delivery_topic(settings, settings.topic_name)
    digest = delivery_topic(settings, settings.digest_topic_name)

    def fresh_environment(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        started = time.monotonic()
        publisher = Publisher(aws.sns(), aws.dynamodb(), topic, settings.table_name, digest)
        try:
            return process_batch(event, publisher, None, context.invoked_function_arn)
        finally:
            with lock:
                spans.append((started, time.monotonic()))

    delivery.runner.streams = OneShardPerPartition(delivery.runner.stream_arn)  # type: ignore[assignment]
    delivery.runner.handler = fresh_environment

    stats, emails = delivery.deliver_once()  # raises SubscriptionRateError past 10 a second

    (_, end_a), (start_b, _) = sorted(spans)
    assert start_b < end_a, "the second shard's invocation started before the first one ended"
    assert stats.invocations == 2
    alerts = [email for email, _ in emails if not email.is_digest]
    assert len(alerts) == 17 + 16
    arrivals = sorted(email.received_at_ms for email in alerts)
    worst = max(sum(1 for other in arrivals if 0 <= other - first < 1000) for first in arrivals)
    assert 5 < worst <= 10, f"the worst second held {worst} messages"


def delivery_topic(settings: Settings, name: str) -> str:
    """A topic's ARN by its name."""
    found = find_topic_arn(aws.sns(), name)
    assert found is not None
    return found
