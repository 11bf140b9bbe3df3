"""The local stand-in for Lambda's event source mapping: stream → filter → handler, with retries and a checkpoint."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gas_publisher.event_filter import matches

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any], Any], Mapping[str, Any] | None]
Record = dict[str, Any]
GET_RECORDS_LIMIT = 1000


@dataclass
class DeliveryStats:
    """Counts from one delivery pass."""

    read: int = 0
    matched: int = 0
    invocations: int = 0
    retried_records: int = 0
    dead_lettered: int = 0


class Checkpoint:
    """The last processed sequence number per stream shard, kept in a JSON file between runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        data: dict[str, dict[str, str]] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def get(self, stream_arn: str, shard_id: str) -> str | None:
        """The last sequence number processed on this shard, if any."""
        return self._load().get(stream_arn, {}).get(shard_id)

    def set(self, stream_arn: str, shard_id: str, sequence_number: str) -> None:
        """Record progress; written to a temporary file and renamed, so a crash never leaves half a file."""
        data = self._load()
        data.setdefault(stream_arn, {})[shard_id] = sequence_number
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(temporary, self.path)


@dataclass(frozen=True)
class LocalContext:
    """The parts of a Lambda context object a handler may read."""

    function_name: str = "gas-alerts-publisher-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        """Local invocations have no deadline; report Lambda's default timeout."""
        return 30_000


@dataclass
class StreamRunner:
    """Reads a table stream and invokes a handler the way an event source mapping with these settings does."""

    streams: DynamoDBStreamsClient
    stream_arn: str
    handler: Handler
    checkpoint: Checkpoint
    pattern: Mapping[str, Any]
    batch_size: int = 10
    max_retry_attempts: int = 2
    dead_letter: Callable[[dict[str, Any]], None] | None = None
    retry_delay: float = 0.2
    on_batch: Callable[[Sequence[Record]], None] | None = None

    def run(
        self, *, follow: bool = False, poll_interval: float = 1.0, should_stop: Callable[[], bool] = lambda: False
    ) -> DeliveryStats:
        """Deliver everything new; with follow, keep polling until should_stop() says so."""
        stats = DeliveryStats()
        while True:
            self.poll(stats)
            if not follow or should_stop():
                return stats
            time.sleep(poll_interval)

    def poll(self, stats: DeliveryStats) -> None:
        """One pass over every shard, up to the end of what the stream holds now."""
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            self._drain_shard(shard["ShardId"], stats)

    def _drain_shard(self, shard_id: str, stats: DeliveryStats) -> None:
        last = self.checkpoint.get(self.stream_arn, shard_id)
        if last is None:
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        else:
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=last,
            )["ShardIterator"]
        while iterator:
            response = self.streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
            records: list[Record] = [dict(r) for r in response.get("Records", [])]
            if not records:
                return
            stats.read += len(records)
            lambda_records = [self._lambda_shape(record) for record in records]
            matched = [record for record in lambda_records if matches(self.pattern, record)]
            stats.matched += len(matched)
            for batch in _chunks(matched, self.batch_size):
                self._deliver(shard_id, batch, stats)
            self.checkpoint.set(self.stream_arn, shard_id, records[-1]["dynamodb"]["SequenceNumber"])
            iterator = response.get("NextShardIterator", "")

    def _lambda_shape(self, record: Record) -> Record:
        """What Lambda passes for a stream record: the same fields plus the source ARN, times as epoch seconds."""
        body = dict(record["dynamodb"])
        created = body.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            body["ApproximateCreationDateTime"] = int(created.timestamp())
        return {**record, "dynamodb": body, "eventSourceARN": self.stream_arn}

    def _deliver(self, shard_id: str, batch: list[Record], stats: DeliveryStats) -> None:
        pending = batch
        for attempt in range(self.max_retry_attempts + 1):
            if self.on_batch is not None:
                self.on_batch(pending)
            stats.invocations += 1
            failed_from = self._invoke(pending)
            if failed_from is None:
                return
            pending = pending[failed_from:]
            if attempt < self.max_retry_attempts:
                stats.retried_records += len(pending)
                time.sleep(self.retry_delay * 2**attempt)
        stats.dead_lettered += len(pending)
        self._send_to_dead_letter(shard_id, pending)

    def _invoke(self, batch: list[Record]) -> int | None:
        """Invoke once; return the index to resume from, or None when the whole batch succeeded."""
        try:
            response = self.handler({"Records": batch}, LocalContext()) or {}
        except Exception:
            logger.exception("the handler raised; the whole batch counts as failed")
            return 0
        failures = response.get("batchItemFailures") or []
        if not failures:
            return None
        positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(batch)}
        identifiers = [failure.get("itemIdentifier") for failure in failures if isinstance(failure, Mapping)]
        if any(identifier not in positions for identifier in identifiers) or not identifiers:
            # Lambda treats an unknown or empty identifier as a failure of the whole batch.
            return 0
        return min(positions[identifier] for identifier in identifiers)

    def _send_to_dead_letter(self, shard_id: str, records: Sequence[Record]) -> None:
        """Record the exhausted batch the way Lambda's on-failure destination does, so it can be redriven."""
        message = {
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.max_retry_attempts + 1,
            },
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        logger.error("%d stream records exhausted their retries; sent to the dead-letter queue", len(records))
        if self.dead_letter is not None:
            self.dead_letter(message)


def sqs_dead_letter(client: SQSClient, queue_url: str) -> Callable[[dict[str, Any]], None]:
    """A dead-letter sink that sends the failure record to an SQS queue."""

    def send(message: dict[str, Any]) -> None:
        client.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))

    return send


def _chunks(records: list[Record], size: int) -> Iterator[list[Record]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]
