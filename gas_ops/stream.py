"""Stream records as Lambda hands them to the publisher: their shape, the mapping's filters, a range read again."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_alerts.failures import error_code
from gas_publisher.contract import FUNCTION_TIMEOUT_SECONDS
from gas_publisher.event_filter import matches

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

Record = dict[str, Any]
GET_RECORDS_LIMIT = 1000
# An open shard is caught up after this many empty pages in a row; a later pass goes on from where it stopped.
MAX_EMPTY_PAGES = 5
# What a stream says of records it no longer holds (or of a shard it no longer lists).
GONE = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException"})


@dataclass(frozen=True)
class InvocationContext:
    """The parts of a Lambda context object the handler reads, for an invocation run in this process."""

    function_name: str = "gas-alerts-publisher-local"
    # Names the consumer, as a function's ARN does on AWS: the handler lets its retries take over its own claims.
    invoked_function_arn: str = ""
    timeout_seconds: float = FUNCTION_TIMEOUT_SECONDS
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)
    # An operator's command, publishing beside the stream mapping: at the background rate (gas_publisher/pacing.py).
    background: bool = False

    def get_remaining_time_in_millis(self) -> int:
        """The function's configured timeout, less the time this invocation has run."""
        return max(int((self.started + self.timeout_seconds - time.monotonic()) * 1000), 0)


def passes(pattern: Mapping[str, Any], record: Record) -> bool:
    """Whether a record passes one of a mapping's filters; an empty one stands for a mapping without filters."""
    return not pattern or matches(pattern, record)


def lambda_shape(record: Record, stream_arn: str) -> Record:
    """What Lambda passes for a stream record: the same fields plus the source ARN, times as epoch seconds."""
    body = dict(record["dynamodb"])
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        body["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": body, "eventSourceARN": stream_arn}


def list_shards(streams: DynamoDBStreamsClient, stream: str) -> list[Mapping[str, Any]]:
    """Every shard the stream lists now, through all DescribeStream pages (ResourceNotFound if there is no stream)."""
    shards: list[Mapping[str, Any]] = []
    last = ""
    while True:
        if last:
            response = streams.describe_stream(StreamArn=stream, ExclusiveStartShardId=last)
        else:
            response = streams.describe_stream(StreamArn=stream)
        shards += response["StreamDescription"].get("Shards", [])
        last = response["StreamDescription"].get("LastEvaluatedShardId", "")
        if not last:
            return shards


def read_range(streams: DynamoDBStreamsClient, stream: str, shard: str, start: str, end: str) -> list[Record] | None:
    """The records from `start` to `end` of a shard, or None if the stream no longer holds them."""
    try:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=stream, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=start
        )["ShardIterator"]
    except ClientError as error:
        if error_code(error) in GONE:
            return None
        raise
    records: list[Record] = []
    empty = 0
    while iterator and empty < MAX_EMPTY_PAGES:
        response = streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        page: list[Record] = [dict(record) for record in response.get("Records", [])]
        empty = 0 if page else empty + 1
        for record in page:
            if int(record["dynamodb"]["SequenceNumber"]) > int(end):
                return records
            records.append(record)
        iterator = response.get("NextShardIterator")
    return records or None
