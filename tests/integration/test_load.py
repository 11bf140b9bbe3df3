"""Load: 1,000 alert records through the local stream runner and the real handler on moto, each published once."""

from __future__ import annotations

from collections import Counter

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from tests.support.load import run_load

pytestmark = pytest.mark.slow(seconds=40)

RECORDS = 1000


def test_a_thousand_alert_records_are_each_published_exactly_once(settings: Settings) -> None:
    """GIVEN 1,000 alert INSERTs in the stream WHEN delivered in batches of 10 THEN 1,000 messages, no repeats."""
    run = run_load(settings, RECORDS)

    sent = Counter((alert.body.split("This week (", 1)[1][:10], alert.region) for alert in run.delivered)
    assert (run.stats.matched, run.stats.retried_records, run.stats.dead_lettered) == (RECORDS, 0, 0)
    assert run.stats.invocations == RECORDS // 10
    assert sent == Counter({(item.week.isoformat(), item.drops[0]): 1 for item in run.items})
    dead_letter_url = aws.sqs().get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    assert aws.sqs().receive_message(QueueUrl=dead_letter_url).get("Messages", []) == []
