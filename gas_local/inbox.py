"""Reads the local inbox queue (subscribed to the topic with the subscriber's filter policy)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from gas_local.outbox import DeliveredAlert, MalformedEnvelopeError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)
Delivered = TypeVar("Delivered")


def drain_inbox(client: SQSClient, queue_url: str) -> list[DeliveredAlert]:
    """Receive and delete every alert waiting in the inbox, oldest first."""
    return deliver_inbox(client, queue_url, lambda alert: alert)


def deliver_inbox(client: SQSClient, queue_url: str, deliver: Callable[[DeliveredAlert], Delivered]) -> list[Delivered]:
    """Hand every waiting message to `deliver`, deleting each only after `deliver` returned; oldest first.

    If `deliver` raises, that message and the ones after it are made visible again at once, the ones handed over
    are deleted, and the error propagates: a failed write loses nothing, as the next drain hands it over again.
    The deletes go ten to a call, after the drain: a crash before them only hands messages over a second time,
    and the outbox writes a message to the same file every time.
    """
    received: list[tuple[DeliveredAlert, str]] = []
    while True:
        messages = client.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["SentTimestamp"]
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                sent_ms = int(message.get("Attributes", {}).get("SentTimestamp", "0"))
                received.append((DeliveredAlert.from_envelope(message["Body"], sent_ms), message["ReceiptHandle"]))
            except MalformedEnvelopeError as error:
                logger.warning("skipped an inbox message that is not an alert: %s", error)
                client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    received.sort(key=lambda pair: (pair[0].received_at_ms, pair[0].sent_at, pair[0].region))
    delivered: list[Delivered] = []
    handed_over: list[str] = []
    try:
        for position, (alert, receipt) in enumerate(received):
            try:
                delivered.append(deliver(alert))
            except BaseException:
                for _, waiting in received[position:]:
                    client.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=waiting, VisibilityTimeout=0)
                raise
            handed_over.append(receipt)
    finally:
        _delete(client, queue_url, handed_over)
    return delivered


# SQS deletes at most this many messages in one DeleteMessageBatch call.
DELETE_BATCH = 10


def _delete(client: SQSClient, queue_url: str, receipts: Sequence[str]) -> None:
    """Delete the messages handed over, ten to a call; one left behind is handed over again, to the same file."""
    for start in range(0, len(receipts), DELETE_BATCH):
        batch = receipts[start : start + DELETE_BATCH]
        failed = client.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(number), "ReceiptHandle": receipt} for number, receipt in enumerate(batch)],
        ).get("Failed", [])
        for failure in failed:
            logger.warning("an inbox message was not deleted and will be handed over again: %s", failure["Code"])


class SubscriptionRateError(RuntimeError):
    """A subscription received more messages in one second than SNS allows an email subscription."""


# SNS delivers at most this many messages a second to one email subscription, and deactivates one that gets more.
EMAIL_MESSAGES_PER_SECOND = 10
WINDOW_MS = 1000


@dataclass
class RateWatch:
    """Enforces SNS's email rate on a local inbox, which moto does not: remembers the last second of arrivals."""

    subscription: str
    limit: int = EMAIL_MESSAGES_PER_SECOND
    recent: deque[int] = field(default_factory=deque)

    def record(self, arrivals_ms: Sequence[int]) -> None:
        """Add arrivals (ms since the epoch); raise SubscriptionRateError if any second held more than the limit."""
        for arrival in sorted(arrivals_ms):
            while self.recent and arrival - self.recent[0] >= WINDOW_MS:
                self.recent.popleft()
            self.recent.append(arrival)
            if len(self.recent) > self.limit:
                raise SubscriptionRateError(
                    f"{self.subscription} received {len(self.recent)} messages within one second "
                    f"(from {self.recent[0]} ms); SNS allows an email subscription {self.limit} a second and "
                    "deactivates one that gets more"
                )
