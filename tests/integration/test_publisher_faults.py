"""Fault matrix, publisher: partial SNS failures through the stream, redelivery, and the dead-letter queue."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.delivery import CHECKPOINT_FILE, LocalDelivery
from gas_local.inbox import drain_inbox
from gas_local.outbox import DeliveredAlert
from gas_local.provision import LocalResources, provision
from gas_local.stream_runner import Checkpoint, StreamRunner, sqs_dead_letter
from gas_ops.redrive import redrive
from gas_publisher.contract import REGION_IDS, stream_filter_pattern
from gas_publisher.handler import process_batch
from gas_publisher.publisher import Publisher
from gas_publisher.week import WeekRecord
from tests.support.data import prices, weekly
from tests.support.fakes import FailingRegion, FlakySns

W0, W1, W2, W3 = weekly(date(2026, 5, 4), 4)


def alert_week(day: date, previous: dict[str, str], now: dict[str, str]) -> WeekRecord:
    """A week item as the flow writes it when the regions in `now` fell."""
    drops = tuple(region for region in REGION_IDS if region in now and Decimal(now[region]) < Decimal(previous[region]))
    return WeekRecord(
        week=day,
        prices=prices(**now),
        previous_week=day - (W1 - W0),
        previous_prices=prices(**previous),
        drops=drops,
        alert=bool(drops),
    )


ALERT_WEEKS = [
    alert_week(W1, {"albany": "3.50", "new_york_city": "3.60"}, {"albany": "3.45", "new_york_city": "3.52"}),
    alert_week(W2, {"buffalo": "3.30"}, {"buffalo": "3.25"}),
    alert_week(W3, {"nassau": "3.40", "utica": "3.10"}, {"nassau": "3.31", "utica": "3.12"}),
]


EXPECTED = sorted([(W1, "albany"), (W1, "new_york_city"), (W2, "buffalo"), (W3, "nassau")])


def store(settings: Settings, records: list[WeekRecord]) -> None:
    for record in records:
        aws.dynamodb().put_item(TableName=settings.table_name, Item=record.to_item())


def received(resources: LocalResources) -> list[tuple[date, str]]:
    """(week, region) of every alert the unfiltered inbox received, sorted."""
    return sorted((week_of(alert), alert.region) for alert in drain_inbox(aws.sqs(), resources.inbox_url))


def week_of(alert: DeliveredAlert) -> date:
    return date.fromisoformat(alert.body.split("This week (", 1)[1][:10])


@dataclass
class CountingHandler:
    """The real batch processing with a chosen SNS client; remembers the records of each invocation."""

    resources: LocalResources
    settings: Settings
    sns: Any
    invocations: list[list[str]] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        self.invocations.append([record["dynamodb"]["NewImage"]["sk"]["S"] for record in event["Records"]])
        publisher = Publisher(self.sns, aws.dynamodb(), self.resources.topic_arn, self.settings.table_name)
        return process_batch(event, publisher)


def runner(settings: Settings, resources: LocalResources, handler: CountingHandler, **options: Any) -> StreamRunner:
    return StreamRunner(
        streams=aws.dynamodb_streams(),
        stream_arn=resources.stream_arn,
        handler=handler,
        checkpoint=Checkpoint(settings.state_dir / CHECKPOINT_FILE),
        pattern=stream_filter_pattern(),
        retry_delay=0,
        dead_letter=sqs_dead_letter(aws.sqs(), resources.dead_letter_url),
        **options,
    )


def test_partial_publish_failure_through_the_stream_sends_every_alert_exactly_once(settings: Settings) -> None:
    """GIVEN SNS fails NYC once WHEN the stream is delivered THEN the retry re-sends W1..W3 but publishes only NYC."""
    resources = provision(settings)
    store(settings, ALERT_WEEKS)
    handler = CountingHandler(resources, settings, FlakySns(aws.sns(), FailingRegion("new_york_city", times=1)))

    stats = runner(settings, resources, handler).run()

    # Like Lambda, the retry starts at the failed record, so the records after it are handed over again.
    assert handler.invocations == [[W1.isoformat(), W2.isoformat(), W3.isoformat()]] * 2
    assert (stats.retried_records, stats.dead_lettered) == (3, 0)
    assert received(resources) == EXPECTED


def test_a_lost_checkpoint_redelivers_the_stream_but_sends_nothing_twice(settings: Settings) -> None:
    """GIVEN the runner lost its checkpoint after delivering WHEN it starts over THEN it re-reads, and sends nothing."""
    provision(settings)
    store(settings, ALERT_WEEKS)
    _, first = LocalDelivery.connect(settings).deliver_once()
    (settings.state_dir / CHECKPOINT_FILE).unlink()

    stats, second = LocalDelivery.connect(settings).deliver_once()

    alerts = [alert for alert, _ in first if not alert.is_digest]
    assert sorted((week_of(alert), alert.region) for alert in alerts) == EXPECTED
    assert (stats.matched, stats.dead_lettered, second) == (3, 0, [])


def test_exhausted_retries_land_in_the_dead_letter_queue_and_can_be_redriven(settings: Settings) -> None:
    """GIVEN SNS keeps failing NYC THEN its batch goes to the DLQ; re-read by sequence number, it sends only NYC."""
    resources = provision(settings)
    store(settings, ALERT_WEEKS)
    failing = CountingHandler(resources, settings, FlakySns(aws.sns(), FailingRegion("new_york_city", times=99)))

    stats = runner(settings, resources, failing, max_retry_attempts=2).run()

    assert (len(failing.invocations), stats.dead_lettered) == (3, 3)
    assert received(resources) == [pair for pair in EXPECTED if pair != (W1, "new_york_city")]
    sqs = aws.sqs()
    [dead] = sqs.receive_message(QueueUrl=resources.dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=0)[
        "Messages"
    ]
    message = json.loads(dead["Body"])
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["DDBStreamBatchInfo"]["batchSize"] == 3
    assert message["DDBStreamBatchInfo"]["streamArn"] == resources.stream_arn

    healthy = CountingHandler(resources, settings, aws.sns())
    report = redrive(settings, handler=healthy)
    assert (report.pointers, report.records, report.failed) == (1, 3, 0)

    assert received(resources) == [(W1, "new_york_city")]
    assert Counter(healthy.invocations[0]) == Counter(record.week.isoformat() for record in ALERT_WEEKS)
