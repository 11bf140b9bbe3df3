"""`gas-alerts redrive`: the stream batches that used up their retries, read again from the stream and published.

Lambda's on-failure destination (the dead-letter queue) receives pointers, not records: a shard and a range of
sequence numbers. The records themselves stay in the stream for 24 hours. Redrive reads each pointer, re-reads its
records while the stream holds them, and hands those that pass the stream filter to the real handler, as a consumer
of its own (so it never takes over a claim the mapping still holds). A pointer whose records the stream no longer
holds is reported with the weeks whose told falls the sent ledger lacks, and kept in the queue; it is never dropped
in silence. The same code runs against moto and against AWS.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_alerts import aws
from gas_alerts.compare import HISTORY_WEEKS
from gas_alerts.settings import Settings
from gas_alerts.store import PriceTable
from gas_alerts.unsent import unsent
from gas_local.delivery import NotProvisionedError, publisher_environment, publisher_handler
from gas_local.mapping import MappingSettings, deployed_mapping
from gas_local.stream_runner import MAX_EMPTY_PAGES, LocalContext, Record, lambda_shape, passes
from gas_publisher.handler import SkippedRecordError, StreamRecord
from gas_publisher.ledger import LedgerWeek, SentLedger

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any], Any], Any]
# Time to redrive one pointer before the queue shows its message to another reader.
VISIBILITY_SECONDS = 300
# A batch that still reports failures is tried this many times, then kept in the queue.
ATTEMPTS = 3
# What a stream says of records it no longer holds (or of a shard it no longer lists).
GONE = {"TrimmedDataAccessException", "ResourceNotFoundException"}


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


@dataclass
class RedriveReport:
    """What one redrive did."""

    pointers: int = 0
    records: int = 0
    failed: int = 0
    sent: list[str] = field(default_factory=list)
    expired: list[Expired] = field(default_factory=list)
    unreadable: int = 0


def redrive(settings: Settings, *, drop_expired: bool = False, handler: Handler | None = None) -> RedriveReport:
    """Redrive every pointer in the dead-letter queue; delete those whose records were all published."""
    sqs, streams = aws.sqs(), aws.dynamodb_streams()
    try:
        stream_arn = aws.dynamodb().describe_table(TableName=settings.table_name)["Table"]["LatestStreamArn"]
        queue_url = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    except (ClientError, KeyError) as error:
        raise NotProvisionedError(
            f"the table {settings.table_name} or the queue {settings.dead_letter_queue} is missing "
            f"({type(error).__name__}); check GAS_ALERTS_TABLE and GAS_ALERTS_DLQ"
        ) from error
    mapping = deployed_mapping(aws.lambda_client(), stream_arn)
    mapped = MappingSettings.from_api(mapping) if mapping is not None else MappingSettings()
    invoke = handler or publisher_handler(publisher_environment(settings))
    driver = _Redriver(streams, invoke, mapped, f"gas-alerts redrive {uuid.uuid4()}", settings)
    report = RedriveReport()
    for message in _receive_all(sqs, queue_url):
        report.pointers += 1
        keep = driver.redrive(message["Body"], report)
        if not keep or (keep == "expired" and drop_expired):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return report


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

    def redrive(self, body: str, report: RedriveReport) -> str:
        """Redrive one pointer; returns why to keep its message ("failed", "expired", "unreadable") or ""."""
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
            shard, start, end, stream = (
                info[name] for name in ("shardId", "startSequenceNumber", "endSequenceNumber", "streamArn")
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("a dead-letter message is not a stream batch pointer; it is left in the queue")
            report.unreadable += 1
            return "unreadable"
        records = self._read(stream, shard, start, end)
        if records is None:
            report.expired.append(self._expired(info))
            return "expired"
        matched = [
            record
            for record in (lambda_shape(record, stream) for record in records)
            if any(passes(pattern, record) for pattern in self.mapping.patterns)
        ]
        report.records += len(matched)
        for position in range(0, len(matched), self.mapping.batch_size):
            batch = matched[position : position + self.mapping.batch_size]
            if not self._deliver(batch, report):
                report.failed += len(batch)
                return "failed"
        return ""

    def _read(self, stream: str, shard: str, start: str, end: str) -> list[Record] | None:
        """The records from `start` to `end` of the shard, or None if the stream no longer holds them."""
        try:
            iterator: str | None = self.streams.get_shard_iterator(
                StreamArn=stream, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=start
            )["ShardIterator"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in GONE:
                return None
            raise
        records: list[Record] = []
        empty = 0
        while iterator and empty < MAX_EMPTY_PAGES:
            response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            page: list[Record] = [dict(record) for record in response.get("Records", [])]
            empty = 0 if page else empty + 1
            for record in page:
                if int(record["dynamodb"]["SequenceNumber"]) > int(end):
                    return records
                records.append(record)
            iterator = response.get("NextShardIterator")
        return records or None

    def _deliver(self, batch: list[Record], report: RedriveReport) -> bool:
        """Invoke the handler until the batch reports no failure, up to ATTEMPTS; note what went out."""
        messages = _messages(batch)
        ledger = SentLedger(aws.dynamodb(), self.settings.table_name)
        before = _sent(ledger, messages)
        for _ in range(ATTEMPTS):
            context = LocalContext(invoked_function_arn=self.consumer)
            response = self.handler({"Records": batch}, context) or {}
            if isinstance(response, Mapping) and not response.get("batchItemFailures"):
                report.sent += sorted(_sent(ledger, messages) - before)
                return True
        report.sent += sorted(_sent(ledger, messages) - before)
        return False

    def _expired(self, info: Mapping[str, Any]) -> Expired:
        table = PriceTable(aws.dynamodb(), self.settings.table_name)
        ledger = SentLedger(aws.dynamodb(), self.settings.table_name)
        return Expired(
            shard_id=str(info.get("shardId", "")),
            start=str(info.get("startSequenceNumber", "")),
            end=str(info.get("endSequenceNumber", "")),
            first_arrival=str(info.get("approximateArrivalOfFirstRecord", "")),
            last_arrival=str(info.get("approximateArrivalOfLastRecord", "")),
            unsent=unsent(table, ledger, HISTORY_WEEKS),
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
