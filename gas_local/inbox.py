"""Reads the local inbox queue (subscribed to the topic with the subscriber's filter policy)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gas_local.outbox import DeliveredAlert, MalformedEnvelopeError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)


def drain_inbox(client: SQSClient, queue_url: str) -> list[DeliveredAlert]:
    """Receive and delete every message waiting in the inbox, oldest first."""
    delivered: list[DeliveredAlert] = []
    while True:
        messages = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return sorted(delivered, key=lambda alert: (alert.sent_at, alert.region))
        for message in messages:
            try:
                delivered.append(DeliveredAlert.from_envelope(message["Body"]))
            except MalformedEnvelopeError as error:
                logger.warning("skipped an inbox message that is not an alert: %s", error)
            client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
