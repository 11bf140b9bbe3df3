"""The load run: many alert records through the stream runner and the real handler, shared by a test and the bench."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.delivery import LocalDelivery
from gas_local.inbox import drain_inbox
from gas_local.outbox import DeliveredAlert
from gas_local.provision import provision
from gas_local.stream_runner import DeliveryStats
from gas_publisher.contract import REGION_IDS
from gas_publisher.handler import process_batch
from gas_publisher.publisher import Publisher
from gas_publisher.week import Origin, WeekRecord
from tests.support.fakes import virtual_pacer

FIRST_WEEK = date(2007, 1, 1)


def alert_item(index: int) -> WeekRecord:
    """Week `index` after the first, in which one region (taking turns) fell by 1 to 9 cents."""
    region = REGION_IDS[index % len(REGION_IDS)]
    previous = Decimal("3.50")
    return WeekRecord(
        week=FIRST_WEEK + timedelta(weeks=index),
        prices={region: previous - Decimal(1 + index % 9) / 100},
        previous_week=FIRST_WEEK + timedelta(weeks=index - 1),
        previous_prices={region: previous},
        drops=(region,),
        alert=True,
        origin=Origin.WEEKLY,
    )


@dataclass(frozen=True)
class LoadRun:
    """What the load run wrote, what the runner did, what subscribers received, and how long each half took."""

    items: list[WeekRecord]
    stats: DeliveryStats
    delivered: list[DeliveredAlert]
    write_seconds: float
    deliver_seconds: float


def run_load(settings: Settings, records: int) -> LoadRun:
    """Write `records` alert items, then deliver the stream through the real handler to the inbox."""
    provisioned = provision(settings)
    items = [alert_item(index) for index in range(records)]
    started = time.perf_counter()
    write_items(settings.table_name, [item.to_item() for item in items])
    written = time.perf_counter()
    delivery = LocalDelivery.connect(settings)
    resources = provisioned
    publisher = Publisher(
        aws.sns(),
        aws.dynamodb(),
        resources.topic_arn,
        settings.table_name,
        resources.digest_topic_arn,
        pacer=virtual_pacer(),
    )
    # The handler's own batch processing, with the pacing on a virtual clock: 1,000 messages at the real five a
    # second would take over three minutes, and the pacing has tests of its own.
    delivery.runner.handler = lambda event, _: process_batch(event, publisher)
    for inbox in delivery.inboxes:
        # This run checks exactly-once delivery; with the pacing on a virtual clock it floods SNS on purpose.
        inbox.watch.limit = records
    # moto's SQS receive scans the whole queue, so both inboxes (every week also sends a digest) are emptied
    # before every invocation and once more at the end, instead of holding a thousand messages each.
    delivered: list[DeliveredAlert] = []

    def drain(_: object) -> None:
        delivered.extend(drain_inbox(delivery.sqs, delivery.inbox_url))
        drain_inbox(delivery.sqs, delivery.inboxes[1].url)

    delivery.runner.on_batch = drain
    stats, rest = delivery.deliver_once()
    delivered += [alert for alert, _ in rest if not alert.is_digest]
    return LoadRun(items, stats, delivered, written - started, time.perf_counter() - written)


def write_items(table_name: str, items: list[dict[str, Any]]) -> None:
    """Put items 25 a call with BatchWriteItem, unconditionally: the quickest way to fill the stream."""
    client = aws.dynamodb()
    for start in range(0, len(items), 25):
        request: dict[str, Any] = {table_name: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while request:
            request = dict(client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {})
