"""The local stand-in for Lambda's event source mapping: stream → filter → handler, with retries and a checkpoint."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_alerts.failures import error_code
from gas_ops.dead_letters import on_failure_record
from gas_ops.mapping import StartingPosition
from gas_ops.stream import (
    GET_RECORDS_LIMIT,
    MAX_EMPTY_PAGES,
    InvocationContext,
    Record,
    lambda_shape,
    list_shards,
    passes,
)
from gas_publisher.contract import FUNCTION_TIMEOUT_SECONDS, MAPPING

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)
# What a function returns is whatever JSON it chose, so anything may come back; only an object is read.
Handler = Callable[[dict[str, Any], Any], object]
# The checkpoint of a closed shard read to its end: its children may be read.
SHARD_END = "END"
# What _invoke returns when the handler raised (the whole batch failed, and may be bisected).
INVOCATION_ERROR = -1


@dataclass
class DeliveryStats:
    """Counts from one delivery pass."""

    read: int = 0
    matched: int = 0
    invocations: int = 0
    retried_records: int = 0
    dead_lettered: int = 0

    def absorb(self, other: DeliveryStats) -> None:
        """Add another pass's counts to these (the shards of one pass are counted apart, at the same time)."""
        for name in (item.name for item in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Checkpoint:
    """The last processed sequence number per stream shard, kept in a JSON file between runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Shards are delivered at the same time, and each records its own progress in the one file.
        self._writing = threading.Lock()

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        data: dict[str, dict[str, str]] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def get(self, stream_arn: str, shard_id: str) -> str | None:
        """The last sequence number processed on this shard, if any."""
        return self._load().get(stream_arn, {}).get(shard_id)

    @property
    def consumer(self) -> str:
        """Who delivers from this checkpoint: the same runner after a restart, a different one for another file."""
        return f"local stream runner {self.path.resolve()}"

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the checkpoint alone: a second runner on it waits, as a mapping reads a shard one batch at a time.

        Runners sharing a checkpoint are one consumer, whose retries take over its own claims; they must
        therefore never deliver at the same time.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_suffix(".lock").open("a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info("another stream runner is delivering from %s; waiting for it to finish its pass", self.path)
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def set(self, stream_arn: str, shard_id: str, sequence_number: str) -> None:
        """Record progress; written to a temporary file and renamed, so a crash never leaves half a file."""
        with self._writing:
            data = self._load()
            data.setdefault(stream_arn, {})[shard_id] = sequence_number
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
            os.replace(temporary, self.path)


@dataclass
class StreamRunner:
    """Reads a table stream and invokes a handler the way an event source mapping with these settings does.

    Reading follows the DynamoDB Streams API as documented: the shard list is paged, a parent shard is read to
    its end before its children (so the stream's order holds across a split), empty pages on an open shard do not
    mean the end (reading goes on until MAX_EMPTY_PAGES in a row), and a checkpoint the stream no longer holds
    (older than its 24 hours) restarts the shard at its oldest record with a warning; the sent ledger keeps that
    from sending anything twice. Delivery follows the mapping's settings: the filters, batch size, retries,
    bisecting a batch whose invocation failed, per-record failures, and the on-failure destination.
    """

    streams: DynamoDBStreamsClient
    stream_arn: str
    handler: Handler
    checkpoint: Checkpoint
    pattern: Mapping[str, Any]
    batch_size: int = 10
    max_retry_attempts: int = 5
    bisect_on_error: bool = True
    report_batch_item_failures: bool = True
    starting_position: StartingPosition = "TRIM_HORIZON"
    extra_patterns: Sequence[Mapping[str, Any]] = ()
    dead_letter: Callable[[dict[str, Any]], None] | None = None
    retry_delay: float = 0.2
    on_batch: Callable[[Sequence[Record]], None] | None = None
    function_timeout_seconds: float = FUNCTION_TIMEOUT_SECONDS
    # The function the mapping invokes, as its on-failure records name it.
    function_arn: str = ""
    # Records older than this are not delivered but sent to the on-failure destination (None: no limit).
    maximum_record_age_seconds: int | None = MAPPING["maximum_record_age_in_seconds"]
    clock: Callable[[], float] = time.time
    _iterators: dict[str, str] = field(default_factory=dict)
    # The checkpoint this runner last wrote per shard: a cached iterator is used only while the checkpoint still
    # says so (another runner on the same checkpoint may have gone on meanwhile).
    _positions: dict[str, str | None] = field(default_factory=dict)

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
        """One pass over every shard, parents first, up to what the stream holds now (the checkpoint held alone)."""
        with self.checkpoint.held():
            self._poll(stats)

    def _poll(self, stats: DeliveryStats) -> None:
        shards = list_shards(self.streams, self.stream_arn)
        described = {shard["ShardId"] for shard in shards}
        pending = list(shards)
        while pending:
            ready = [shard for shard in pending if self._parent_done(shard, described)]
            if not ready:
                return  # a parent is not read to its end yet: its children wait for the next pass
            for shard in ready:
                pending.remove(shard)
            # As on AWS, the ready shards are delivered at the same time, each one batch at a time.
            counted = [DeliveryStats() for _ in ready]
            with ThreadPoolExecutor(max_workers=len(ready), thread_name_prefix="shard") as pool:
                list(pool.map(self._drain_shard, ready, counted))
            for shard_stats in counted:
                stats.absorb(shard_stats)

    def _parent_done(self, shard: Mapping[str, Any], described: set[str]) -> bool:
        parent = shard.get("ParentShardId")
        # A parent the stream no longer lists was trimmed: nothing of it is left to read first.
        return not parent or parent not in described or self.checkpoint.get(self.stream_arn, parent) == SHARD_END

    def _drain_shard(self, shard: Mapping[str, Any], stats: DeliveryStats) -> None:
        shard_id = shard["ShardId"]
        if self.checkpoint.get(self.stream_arn, shard_id) == SHARD_END:
            return
        cached = self._iterators.pop(shard_id, None)
        if self._positions.get(shard_id) != self.checkpoint.get(self.stream_arn, shard_id):
            cached = None
        iterator: str | None = cached or self._iterator(shard_id)
        empty = 0
        while iterator and empty < MAX_EMPTY_PAGES:
            try:
                response = self.streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
            except ClientError as error:
                if error_code(error) != "ExpiredIteratorException":
                    raise
                iterator = self._iterator(shard_id)
                continue
            records: list[Record] = [dict(r) for r in response.get("Records", [])]
            iterator = response.get("NextShardIterator")
            empty = 0 if records else empty + 1
            if records:
                self._deliver_records(shard_id, records, stats)
        if iterator:
            self._iterators[shard_id] = iterator  # an open shard: the next pass goes on from here
            self._positions[shard_id] = self.checkpoint.get(self.stream_arn, shard_id)
        else:
            self.checkpoint.set(self.stream_arn, shard_id, SHARD_END)

    def _iterator(self, shard_id: str) -> str:
        """An iterator just after the checkpoint, or at the starting position; a trimmed checkpoint starts over."""
        last = self.checkpoint.get(self.stream_arn, shard_id)
        if last is not None:
            try:
                return self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard_id,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=last,
                )["ShardIterator"]
            except ClientError as error:
                if error_code(error) != "TrimmedDataAccessException":
                    raise
                logger.warning(
                    "the checkpoint of shard %s is older than the stream keeps (24 hours); reading it again from its "
                    "oldest record (the sent ledger keeps anything from being sent twice)",
                    shard_id,
                )
        position: StartingPosition = "TRIM_HORIZON" if last is not None else self.starting_position
        return self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=position)[
            "ShardIterator"
        ]

    def _deliver_records(self, shard_id: str, records: list[Record], stats: DeliveryStats) -> None:
        stats.read += len(records)
        lambda_records = [lambda_shape(record, self.stream_arn) for record in records]
        patterns = [self.pattern, *self.extra_patterns]
        matched = [record for record in lambda_records if any(passes(pattern, record) for pattern in patterns)]
        stats.matched += len(matched)
        for batch in _chunks(matched, self.batch_size):
            self._deliver(shard_id, batch, self.max_retry_attempts, stats)
        self.checkpoint.set(self.stream_arn, shard_id, records[-1]["dynamodb"]["SequenceNumber"])

    def _deliver(self, shard_id: str, batch: list[Record], retries_left: int, stats: DeliveryStats) -> None:
        """Invoke until the batch succeeds, bisecting it on an invocation error; exhausted records go to the DLQ.

        As on AWS, splitting a batch uses none of the retries (each half starts with the retries left), and it
        happens with no retries configured too. Records older than the maximum age are not invoked again.
        """
        pending = batch
        attempt = 0
        while True:
            pending = self._fresh(shard_id, pending, attempt, stats)
            if not pending:
                return
            if self.on_batch is not None:
                self.on_batch(pending)
            stats.invocations += 1
            outcome = self._invoke(pending)
            if outcome is None:
                return
            if outcome == INVOCATION_ERROR and self.bisect_on_error and len(pending) > 1:
                middle = len(pending) // 2
                stats.retried_records += len(pending)
                for half in (pending[:middle], pending[middle:]):
                    self._deliver(shard_id, half, retries_left, stats)
                return
            pending = pending[max(outcome, 0) :]
            if retries_left == 0:
                break
            retries_left -= 1
            stats.retried_records += len(pending)
            time.sleep(self.retry_delay * 2**attempt)
            attempt += 1
        stats.dead_lettered += len(pending)
        self._send_to_dead_letter(
            shard_id, pending, attempt + 1, condition="RetryAttemptsExhausted", raised=outcome == INVOCATION_ERROR
        )

    def _fresh(self, shard_id: str, records: list[Record], invocations: int, stats: DeliveryStats) -> list[Record]:
        """The records young enough to deliver; older ones go to the on-failure destination (RecordAgeExceeded)."""
        if self.maximum_record_age_seconds is None:
            return records
        oldest_allowed = self.clock() - self.maximum_record_age_seconds
        expired = [
            r for r in records if r["dynamodb"].get("ApproximateCreationDateTime", oldest_allowed) < oldest_allowed
        ]
        if expired:
            stats.dead_lettered += len(expired)
            self._send_to_dead_letter(shard_id, expired, invocations, condition="RecordAgeExceeded", raised=False)
        return [record for record in records if record not in expired]

    def _invoke(self, batch: list[Record]) -> int | None:
        """Invoke once: None when the batch succeeded, else the index to resume from (INVOCATION_ERROR if it raised)."""
        try:
            context = InvocationContext(
                invoked_function_arn=self.checkpoint.consumer, timeout_seconds=self.function_timeout_seconds
            )
            response = self.handler({"Records": batch}, context)
        except Exception:
            logger.exception("the handler raised; the whole batch counts as failed")
            return INVOCATION_ERROR
        if response is None:
            return None
        if not isinstance(response, Mapping):
            # Lambda cannot read the response as batch item failures, so the whole batch has failed.
            logger.error(
                "the function returned %s, not an object; the whole batch counts as failed", type(response).__name__
            )
            return 0
        failures = response.get("batchItemFailures") or []
        if not failures or not self.report_batch_item_failures:
            # Without ReportBatchItemFailures, Lambda reads only an invocation error as a failure.
            return None
        positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(batch)}
        identifiers = [failure.get("itemIdentifier") for failure in failures if isinstance(failure, Mapping)]
        if any(identifier not in positions for identifier in identifiers) or not identifiers:
            # Lambda treats an unknown or empty identifier as a failure of the whole batch.
            return 0
        return min(positions[identifier] for identifier in identifiers)

    def _send_to_dead_letter(
        self, shard_id: str, records: Sequence[Record], invocations: int, *, condition: str, raised: bool
    ) -> None:
        """Record the batch given up on the way Lambda's on-failure destination does, so it can be redriven."""
        message = on_failure_record(
            self.stream_arn,
            shard_id,
            records,
            request={
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn or self.checkpoint.consumer,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            response={
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if raised else {}),
            },
        )
        why = "are older than the maximum record age" if condition == "RecordAgeExceeded" else "exhausted their retries"
        logger.error("%d stream records %s; sent to the dead-letter queue", len(records), why)
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
