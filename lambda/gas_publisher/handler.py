"""The publisher Lambda: one SNS message per dropped region and one weekly digest, failures reported per record."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from gas_publisher.contract import (
    ENV_DIGEST_TOPIC_ARN,
    ENV_LOG_LEVEL,
    ENV_TABLE_NAME,
    ENV_TOPIC_ARN,
    stream_filter_pattern,
)
from gas_publisher.event_filter import matches
from gas_publisher.messages import Message, messages_for
from gas_publisher.pacing import BACKGROUND_MESSAGES_PER_SECOND, Pacer
from gas_publisher.publisher import Publisher
from gas_publisher.sweep import SweepRequest, sweep
from gas_publisher.week import MalformedItemError, WeekRecord

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger("gas_publisher")

# No single call may use up the function's time (60 s by default): 3 attempts of 2 s to connect and 5 s to read.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})
# The same pattern the event source mapping applies; a record passing it was flagged for alerting by the flow.
ALERT_FILTER = stream_filter_pattern()


class SkippedRecordError(ValueError):
    """A stream record that asks for no alert: it does not pass the stream filter, or has no usable shape."""


class MalformedAlertError(ValueError):
    """A record that passes the stream filter, so it asks for alerts, but cannot be turned into them."""


@dataclass(frozen=True)
class StreamRecord:
    """The parts of a DynamoDB stream record the publisher uses."""

    sequence_number: str
    # Whatever the record holds: the filter also passes an image inside a list, which is then refused as malformed.
    new_image: object

    @classmethod
    def parse(cls, raw: object) -> StreamRecord:
        """Read a record the filter passes; raises SkippedRecordError for one that asks for no alert."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("dynamodb"), Mapping):
            raise SkippedRecordError("record has no dynamodb section")
        body: Mapping[str, Any] = raw["dynamodb"]
        sequence_number = body.get("SequenceNumber")
        if not isinstance(sequence_number, str) or not sequence_number:
            raise SkippedRecordError("record has no SequenceNumber")
        if not matches(ALERT_FILTER, raw):
            raise SkippedRecordError(f"not an alert: {str(raw.get('eventName') or 'unnamed')[:20]} event")
        return cls(sequence_number=sequence_number, new_image=body["NewImage"])

    def messages(self) -> list[Message]:
        """The week's alerts and its digest; raises MalformedAlertError when the record cannot give them."""
        if not isinstance(self.new_image, Mapping):
            raise MalformedAlertError("NewImage is not a map")
        try:
            return messages_for(WeekRecord.from_item(self.new_image))
        except MalformedItemError as error:
            raise MalformedAlertError(f"malformed week item: {error}") from None


def process_batch(
    event: Mapping[str, Any], publisher: Publisher, deadline_ms: int | None = None, consumer: str = ""
) -> dict[str, list[dict[str, str]]]:
    """Handle every record of a stream batch; report exactly the alert records that were not fully published.

    A record the stream filter passes but that cannot be turned into alerts is reported too, so the mapping's
    retries, bisecting and dead-letter queue (and its alarm) deal with it instead of a silent skip. `consumer`
    names who delivers the batch (the function, for an event source mapping): its retry of a record takes over the
    claims an earlier invocation of its own left on that record's messages. Without it, no claim is taken over
    before its lease ends.
    """
    messages_by_record: dict[str, list[Message]] = {}
    malformed: list[str] = []
    raw_records = event.get("Records", [])
    for position, raw in enumerate(raw_records if isinstance(raw_records, list) else []):
        try:
            record = StreamRecord.parse(raw)
            messages_by_record.setdefault(record.sequence_number, []).extend(record.messages())
        except SkippedRecordError as reason:
            logger.info("skip record %d: %s", position, reason)
        except MalformedAlertError as reason:
            logger.error("malformed alert record %d (%s): %s", position, record.sequence_number, reason)
            malformed.append(record.sequence_number)
    unique = {message.dedup_id: message for messages in messages_by_record.values() for message in messages}
    owners = {
        message.dedup_id: f"{consumer} {sequence_number}"
        for sequence_number, messages in reversed(messages_by_record.items())
        for message in messages
    }
    failed = publisher.publish(list(unique.values()), deadline_ms, owners if consumer else None) if unique else set()
    failing = set(malformed) | {
        sequence_number
        for sequence_number, messages in messages_by_record.items()
        if any(message.dedup_id in failed for message in messages)
    }
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in sorted(failing)]}


@dataclass(frozen=True)
class Wiring:
    """The publisher and the clients it works with, built once per configuration and kept across invocations."""

    publisher: Publisher
    # Publishes what the sweep or an operator's redrive sends, at the background rate (pacing.py).
    background: Publisher
    dynamodb: DynamoDBClient
    cloudwatch: CloudWatchClient
    table_name: str


@lru_cache(maxsize=4)
def _wiring(topic_arn: str, digest_topic_arn: str, table_name: str, endpoint: str | None, region: str | None) -> Wiring:
    session = boto3.session.Session(region_name=region)
    sns = session.client("sns", config=CLIENT_CONFIG)
    dynamodb = session.client("dynamodb", config=CLIENT_CONFIG)
    cloudwatch = session.client("cloudwatch", config=CLIENT_CONFIG)
    background = Publisher(
        sns, dynamodb, topic_arn, table_name, digest_topic_arn, pacer=Pacer(rate=BACKGROUND_MESSAGES_PER_SECOND)
    )
    publisher = Publisher(sns, dynamodb, topic_arn, table_name, digest_topic_arn)
    return Wiring(publisher, background, dynamodb, cloudwatch, table_name)


def wiring_from_environment(environ: Mapping[str, str] = os.environ) -> Wiring:
    """The publisher and its clients as the contract's environment variables configure them, built once each."""
    logger.setLevel(environ.get(ENV_LOG_LEVEL, "INFO").upper())
    topic_arn = environ.get(ENV_TOPIC_ARN, "")
    digest_topic_arn = environ.get(ENV_DIGEST_TOPIC_ARN, "")
    table_name = environ.get(ENV_TABLE_NAME, "")
    required = {ENV_TOPIC_ARN: topic_arn, ENV_DIGEST_TOPIC_ARN: digest_topic_arn, ENV_TABLE_NAME: table_name}
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise RuntimeError(f"the publisher needs the environment variables {', '.join(missing)}")
    return _wiring(
        topic_arn,
        digest_topic_arn,
        table_name,
        environ.get("AWS_ENDPOINT_URL"),
        environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
    )


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: a stream batch's response, or a scheduled sweep's report."""
    return handle(event, context, os.environ)


def handle(event: Mapping[str, Any], context: Any, environ: Mapping[str, str]) -> dict[str, Any]:
    """What the entry point does, with the function's environment given (the local runner passes Terraform's).

    A scheduled event (it carries the sweep's key) runs the sweep; anything else is a stream batch. The function's
    ARN names the consumer of a batch: its event source mapping retries a shard's records one batch at a time, so
    a retry may take over the claims of the invocation before it. The sweep, and a batch an operator's command
    hands over (its context says `background`), publish at the background rate, beside the mapping's.
    """
    deadline_ms = int(time.time() * 1000) + int(context.get_remaining_time_in_millis())
    wiring = wiring_from_environment(environ)
    request = SweepRequest.from_event(event)
    if request is not None:
        report = sweep(
            wiring.background,
            wiring.dynamodb,
            wiring.cloudwatch,
            wiring.table_name,
            request,
            now=datetime.now(UTC),
            deadline_ms=deadline_ms,
        )
        return report.to_response()
    consumer = str(getattr(context, "invoked_function_arn", "") or getattr(context, "function_name", ""))
    publisher = wiring.background if getattr(context, "background", False) else wiring.publisher
    return process_batch(event, publisher, deadline_ms, consumer)
