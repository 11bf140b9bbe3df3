"""The local delivery's last step, inbox to outbox: an alert leaves the inbox only once its email file exists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.delivery import LocalDelivery
from gas_local.inbox import deliver_inbox, drain_inbox
from gas_local.outbox import DeliveredAlert
from gas_local.provision import provision
from gas_publisher.handler import process_batch
from gas_publisher.publisher import Publisher
from tests.support.data import load_event


def test_an_alert_whose_email_cannot_be_written_stays_in_the_inbox(settings: Settings) -> None:
    """GIVEN two alerts in the inbox and an outbox that cannot be written WHEN delivered THEN none is lost."""
    resources = provision(settings)
    process_batch(
        load_event("alert_insert.json"), Publisher(aws.sns(), aws.dynamodb(), resources.topic_arn, settings.table_name)
    )
    delivery = LocalDelivery.connect(settings)
    settings.outbox.parent.mkdir(parents=True, exist_ok=True)
    settings.outbox.write_text("a file where the outbox folder should be", encoding="utf-8")

    with pytest.raises(OSError, match="outbox"):
        delivery.deliver_once()
    settings.outbox.unlink()
    _, delivered = delivery.deliver_once()

    assert sorted(alert.region for alert, _ in delivered) == ["albany", "new_york_city"]
    assert sorted(path.name for path in settings.outbox.iterdir()) == sorted(path.name for _, path in delivered)
    assert all(path.suffix == ".eml" for path in settings.outbox.iterdir()), "no temporary file is left behind"


def test_a_drain_deletes_what_it_handed_over_ten_to_a_call_and_keeps_the_rest(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN 25 messages, the 24th failing WHEN drained THEN 23 are deleted in 3 calls and the other 2 come back."""
    queue_url = aws.sqs().create_queue(QueueName=f"{settings.table_name}-inbox")["QueueUrl"]
    for number in range(25):
        envelope = {"MessageId": f"m{number:02d}", "Message": f"alert {number}", "Timestamp": "2026-11-28T12:00:00Z"}
        aws.sqs().send_message(QueueUrl=queue_url, MessageBody=json.dumps(envelope))
    deletes: list[int] = []
    original = aws.sqs().delete_message_batch

    def counting(**request: Any) -> Any:
        deletes.append(len(request["Entries"]))
        return original(**request)

    monkeypatch.setattr(aws.sqs(), "delete_message_batch", counting)

    handed_over: list[str] = []

    def deliver(alert: DeliveredAlert) -> None:
        if len(handed_over) == 23:
            raise OSError("the outbox is full")
        handed_over.append(alert.message_id)

    with pytest.raises(OSError, match="outbox is full"):
        deliver_inbox(aws.sqs(), queue_url, deliver)
    assert deletes == [10, 10, 3]
    left = {alert.message_id for alert in drain_inbox(aws.sqs(), queue_url)}
    assert left == {f"m{number:02d}" for number in range(25)} - set(handed_over)
    assert len(left) == 2
    assert drain_inbox(aws.sqs(), queue_url) == []
