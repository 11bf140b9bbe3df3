"""`gas-alerts redrive`: the stream batches that used up their retries, read again from the stream and published.

Lambda's on-failure destination (the dead-letter queue) receives pointers, not records: a shard and a range of
sequence numbers. The records themselves stay in the stream for 24 hours. Redrive reads each pointer, re-reads its
records while the stream holds them, and hands those that pass the stream filter to the real handler, as a consumer
of its own (so it never takes over a claim the mapping still holds). A pointer whose records the stream no longer
holds is healed from the table: the sweep publishes every told message the sent ledger lacks, and once the ledger
holds every told message of the newest weeks the pointer is deleted; otherwise it is reported with what is still
unsent, and kept, never dropped in silence. A message that is not a valid pointer is named by its id and kept, and
the pointers behind it are redriven. The same code runs against moto and against AWS.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_alerts import aws
from gas_alerts.failures import error_code
from gas_alerts.settings import Settings
from gas_alerts.unsent import unsent
from gas_ops.dead_letters import BatchPointer, NotAPointerError
from gas_ops.mapping import MappingSettings, deployed_mapping
from gas_ops.publisher import publisher_environment, publisher_handler
from gas_ops.resources import queue_url as find_queue_url
from gas_ops.resources import table_stream_arn
from gas_ops.stream import InvocationContext, Record, lambda_shape, list_shards, passes, read_range
from gas_publisher.handler import SkippedRecordError, StreamRecord
from gas_publisher.ledger import LedgerWeek, SentLedger
from gas_publisher.sweep import SweepRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any], Any], Any]
# Time to redrive one pointer before the queue shows its message to another reader.
VISIBILITY_SECONDS = 300
# A batch that still reports failures is tried this many times, then kept in the queue.
ATTEMPTS = 3


@dataclass(frozen=True)
class Expired:
    """A dead-lettered batch the stream no longer holds, and what the table says its weeks never sent."""

    shard_id: str
    start: str
    end: str
    first_arrival: str
    last_arrival: str
    # Week -> ledger names (regions, digests) told but not sent, over the newest stored weeks.
    unsent: Mapping[date, tuple[str, ...]] = field(default_factory=dict)
    # A line for each stored item that could not be read to say so (its table and keys).
    unreadable_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unreadable:
    """A dead-letter message that is not a valid stream batch pointer, and what is wrong with it."""

    message_id: str
    problem: str


@dataclass
class RedriveReport:
    """What one redrive did."""

    pointers: int = 0
    records: int = 0
    failed: int = 0
    sent: list[str] = field(default_factory=list)
    expired: list[Expired] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    # What the sweep sent for pointers the stream no longer holds.
    swept: list[str] = field(default_factory=list)


def redrive(settings: Settings, *, drop_expired: bool = False, handler: Handler | None = None) -> RedriveReport:
    """Redrive every pointer in the dead-letter queue; delete those whose records were all published.

    Every message it received and did not delete is visible again when it returns, even when it stops on an error.
    """
    sqs, streams = aws.sqs(), aws.dynamodb_streams()
    stream_arn = table_stream_arn(settings)
    queue_url = find_queue_url(settings.dead_letter_queue, "GAS_ALERTS_DLQ")
    mapping = deployed_mapping(aws.lambda_client(), stream_arn)
    mapped = MappingSettings.from_api(mapping) if mapping is not None else MappingSettings()
    invoke = handler or publisher_handler(publisher_environment(settings))
    driver = _Redriver(streams, invoke, mapped, f"gas-alerts redrive {uuid.uuid4()}", settings)
    report = RedriveReport()
    received = _receive_all(sqs, queue_url)
    expired: list[Mapping[str, Any]] = []
    try:
        while received:
            message = received[0]
            report.pointers += 1
            keep = driver.redrive(message, report)
            received.pop(0)
            if keep == "expired" and not drop_expired:
                expired.append(message)
            elif not keep or keep == "expired":
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                _show_again(sqs, queue_url, [message])
        if report.expired:
            _what_the_expired_left(settings, invoke, report, heal=bool(expired))
        healed = report.expired and not any(item.unsent or item.unreadable_items for item in report.expired)
        while expired:
            message = expired.pop()
            if healed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                _show_again(sqs, queue_url, [message])
    finally:
        _show_again(sqs, queue_url, [*received, *expired])
    return report


def _what_the_expired_left(settings: Settings, invoke: Handler, report: RedriveReport, *, heal: bool) -> None:
    """What the table told that the ledger lacks, read once for every pointer the stream no longer holds.

    The stream lost those records, but the table did not: to heal, the sweep sends what is missing first, and what
    is still unsent is read again. Pointers whose weeks the sent ledger then holds whole are deleted.
    """
    found = unsent(aws.dynamodb(), settings.table_name, datetime.now(UTC))
    if heal and found.missing:
        context = InvocationContext(invoked_function_arn=f"gas-alerts redrive sweep {uuid.uuid4()}", background=True)
        swept = invoke(SweepRequest(older_than_seconds=0).to_event(), context) or {}
        report.swept = list(swept.get("sent", [])) if isinstance(swept, Mapping) else []
        found = unsent(aws.dynamodb(), settings.table_name, datetime.now(UTC))
    report.expired = [
        replace(expired, unsent=found.missing, unreadable_items=found.unreadable) for expired in report.expired
    ]


def _show_again(sqs: SQSClient, queue_url: str, messages: Sequence[Mapping[str, Any]]) -> None:
    """Make received messages visible to the next reader at once, instead of after VISIBILITY_SECONDS."""
    for message in messages:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


def _receive_all(sqs: SQSClient, queue_url: str) -> list[Mapping[str, Any]]:
    """Every message in the queue now, each hidden from other readers while this redrive runs."""
    messages: list[Mapping[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=VISIBILITY_SECONDS, WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        messages += batch


@dataclass
class _Redriver:
    streams: DynamoDBStreamsClient
    handler: Handler
    mapping: MappingSettings
    consumer: str
    settings: Settings
    # Each stream's shards as DescribeStream listed them (None: no such stream), read once a redrive.
    shards: dict[str, set[str] | None] = field(default_factory=dict)

    def redrive(self, message: Mapping[str, Any], report: RedriveReport) -> str:
        """Redrive one pointer; returns why to keep its message ("failed", "expired", "unreadable") or ""."""
        try:
            pointer = BatchPointer.parse(message["Body"])
            gone = self._gone(pointer)
        except NotAPointerError as problem:
            logger.warning("dead-letter message %s is not a stream batch pointer: %s", message["MessageId"], problem)
            report.unreadable.append(Unreadable(message["MessageId"], str(problem)))
            return "unreadable"
        records = (
            None if gone else read_range(self.streams, pointer.stream_arn, pointer.shard_id, pointer.start, pointer.end)
        )
        if records is None:
            report.expired.append(self._expired(pointer))
            return "expired"
        matched = [
            record
            for record in (lambda_shape(record, pointer.stream_arn) for record in records)
            if any(passes(pattern, record) for pattern in self.mapping.patterns)
        ]
        report.records += len(matched)
        for position in range(0, len(matched), self.mapping.batch_size):
            batch = matched[position : position + self.mapping.batch_size]
            if not self._deliver(batch, report):
                report.failed += len(batch)
                return "failed"
        return ""

    def _gone(self, pointer: BatchPointer) -> bool:
        """Whether the pointer's stream no longer lists its shard because the batch is older than the stream keeps.

        A stream or shard that does not exist is NotAPointerError instead, unless the batch arrived more than 24
        hours ago: then the stream has trimmed it (an expired pointer, reported with its weeks).
        """
        if pointer.stream_arn not in self.shards:
            try:
                self.shards[pointer.stream_arn] = {
                    shard["ShardId"] for shard in list_shards(self.streams, pointer.stream_arn)
                }
            except ClientError as error:
                if error_code(error) != "ResourceNotFoundException":
                    raise
                self.shards[pointer.stream_arn] = None
        listed = self.shards[pointer.stream_arn]
        if listed is not None and pointer.shard_id in listed:
            return False
        if pointer.past_retention(datetime.now(UTC)):
            return True
        if listed is None:
            raise NotAPointerError(f"stream {pointer.stream_arn} does not exist")
        raise NotAPointerError(f"stream {pointer.stream_arn} has no shard {pointer.shard_id}")

    def _deliver(self, batch: list[Record], report: RedriveReport) -> bool:
        """Invoke the handler until the batch reports no failure, up to ATTEMPTS; note what went out."""
        messages = _messages(batch)
        ledger = SentLedger(aws.dynamodb(), self.settings.table_name)
        before = _sent(ledger, messages)
        for _ in range(ATTEMPTS):
            context = InvocationContext(invoked_function_arn=self.consumer, background=True)
            response = self.handler({"Records": batch}, context) or {}
            if isinstance(response, Mapping) and not response.get("batchItemFailures"):
                report.sent += sorted(_sent(ledger, messages) - before)
                return True
        report.sent += sorted(_sent(ledger, messages) - before)
        return False

    def _expired(self, pointer: BatchPointer) -> Expired:
        """The pointer's batch, as the stream no longer holds it; what its weeks left unsent is filled in after."""
        return Expired(
            shard_id=pointer.shard_id,
            start=pointer.start,
            end=pointer.end,
            first_arrival=pointer.first_arrival,
            last_arrival=pointer.last_arrival,
        )


def _messages(batch: Sequence[Record]) -> dict[date, set[str]]:
    """The ledger names each week's records of the batch ask for."""
    names: dict[date, set[str]] = {}
    for raw in batch:
        try:
            for message in StreamRecord.parse(raw).messages():
                names.setdefault(message.week, set()).add(message.ledger_name)
        except (SkippedRecordError, ValueError):
            continue
    return names


def _sent(ledger: SentLedger, messages: Mapping[date, set[str]]) -> set[str]:
    """Which of the messages the ledger holds as sent, as 'week#name'."""
    entries = ledger.read(messages)
    return {
        f"{week.isoformat()}#{name}"
        for week, names in messages.items()
        for name in names
        if name in entries.get(week, LedgerWeek()).sent
    }
