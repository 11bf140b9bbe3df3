"""Load: 1,000 alert records through the local stream runner and the real handler on moto, each published once."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from gas_alerts import aws
from gas_alerts.local.delivery import LocalDelivery
from gas_alerts.local.inbox import drain_inbox
from gas_alerts.local.provision import provision
from gas_alerts.outbox import DeliveredAlert
from gas_alerts.settings import Settings
from gas_publisher.batching import batch_put
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import WeekRecord

RECORDS = 1000
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
        origin="weekly",
    )


def test_a_thousand_alert_records_are_each_published_exactly_once(settings: Settings) -> None:
    """GIVEN 1,000 alert INSERTs in the stream WHEN delivered in batches of 10 THEN 1,000 messages, no repeats."""
    provision(settings)
    items = [alert_item(index) for index in range(RECORDS)]
    started = time.perf_counter()
    batch_put(aws.dynamodb(), settings.table_name, [item.to_item() for item in items])
    written = time.perf_counter()

    delivery = LocalDelivery.connect(settings)
    # moto's SQS receive slows down with the queue's length, so the inbox is emptied before every invocation
    # (and once more at the end) instead of holding 1,000 messages; the count is the same either way.
    delivered: list[DeliveredAlert] = []
    delivery.runner.on_batch = lambda _: delivered.extend(drain_inbox(delivery.sqs, delivery.inbox_url))
    stats, rest = delivery.deliver_once()
    delivered += [alert for alert, _ in rest]
    finished = time.perf_counter()
    print(
        f"\n{RECORDS} alert records: written in {written - started:.1f} s, "
        f"streamed, published and received in {finished - written:.1f} s "
        f"({stats.invocations} handler invocations)"
    )

    sent = Counter((alert.body.split("This week (", 1)[1][:10], alert.region) for alert in delivered)
    assert (stats.matched, stats.retried_records, stats.dead_lettered) == (RECORDS, 0, 0)
    assert stats.invocations == RECORDS // 10
    assert sent == Counter({(item.week.isoformat(), item.drops[0]): 1 for item in items})
    dead_letter_url = aws.sqs().get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    assert aws.sqs().receive_message(QueueUrl=dead_letter_url).get("Messages", []) == []
