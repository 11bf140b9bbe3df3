"""The publisher Lambda: one SNS message per dropped region, with failures reported per record."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from gas_publisher.alert import Alert, alerts_for
from gas_publisher.batching import UnprocessedError
from gas_publisher.contract import ENV_LOG_LEVEL, ENV_TABLE_NAME, ENV_TOPIC_ARN, stream_filter_pattern
from gas_publisher.event_filter import matches
from gas_publisher.ledger import SentLedger
from gas_publisher.week import MalformedItemError, WeekRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient

logger = logging.getLogger("gas_publisher")
PUBLISH_BATCH_LIMIT = 10
AWS_ERRORS = (BotoCoreError, ClientError, UnprocessedError)


class SkippedRecordError(ValueError):
    """A stream record that asks for no alert: it does not pass the stream filter, or has no usable shape."""


class MalformedAlertError(ValueError):
    """A record that passes the stream filter, so it asks for alerts, but cannot be turned into them."""


# The same pattern the event source mapping applies; a record passing it was flagged for alerting by the flow.
ALERT_FILTER = stream_filter_pattern()


@dataclass(frozen=True)
class StreamRecord:
    """The parts of a DynamoDB stream record the publisher uses."""

    sequence_number: str
    new_image: Mapping[str, Any]

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

    def alerts(self) -> list[Alert]:
        """The alerts this record asks for; raises MalformedAlertError when it cannot give them."""
        try:
            alerts = alerts_for(WeekRecord.from_item(self.new_image))
        except MalformedItemError as error:
            raise MalformedAlertError(f"malformed week item: {error}") from None
        if not alerts:
            raise MalformedAlertError("flagged for alerting, but names no drop")
        return alerts


class Publisher:
    """Publishes alerts to the topic at most once each, using the sent ledger."""

    def __init__(self, sns: SNSClient, dynamodb: DynamoDBClient, topic_arn: str, table_name: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn
        self._ledger = SentLedger(dynamodb, table_name)

    def publish(self, alerts: Sequence[Alert]) -> set[str]:
        """Publish what the ledger has not seen yet; return the dedup ids that could not be published."""
        try:
            already = self._ledger.sent(alert.week for alert in alerts)
        except AWS_ERRORS:
            logger.exception("could not read the sent ledger; the whole batch will be retried")
            return {alert.dedup_id for alert in alerts}
        pending = [alert for alert in alerts if alert.region not in already.get(alert.week, set())]
        for alert in alerts:
            if alert not in pending:
                logger.info("skip %s: already published", alert.dedup_id)
        failed: set[str] = set()
        for start in range(0, len(pending), PUBLISH_BATCH_LIMIT):
            failed |= self._publish_chunk(pending[start : start + PUBLISH_BATCH_LIMIT])
        sent = {alert.week: set(already.get(alert.week, set())) for alert in pending}
        for alert in pending:
            if alert.dedup_id not in failed:
                sent[alert.week].add(alert.region)
        try:
            self._ledger.record(sent)
        except AWS_ERRORS:
            # The messages are out; failing the records now would send them a second time.
            logger.exception("published, but could not record it in the sent ledger")
        return failed

    def _publish_chunk(self, chunk: Sequence[Alert]) -> set[str]:
        entries = [alert.publish_entry(str(index)) for index, alert in enumerate(chunk)]
        try:
            response = self._sns.publish_batch(TopicArn=self._topic_arn, PublishBatchRequestEntries=entries)
        except AWS_ERRORS:
            logger.exception("PublishBatch failed for %d alerts", len(chunk))
            return {alert.dedup_id for alert in chunk}
        failed = set()
        for entry in response.get("Failed", []):
            alert = chunk[int(entry["Id"])]
            logger.error("publish failed for %s: %s", alert.dedup_id, entry.get("Code", "unknown"))
            failed.add(alert.dedup_id)
        for success in response.get("Successful", []):
            logger.info("published %s as %s", chunk[int(success["Id"])].dedup_id, success.get("MessageId"))
        return failed


def process_batch(event: Mapping[str, Any], publisher: Publisher) -> dict[str, list[dict[str, str]]]:
    """Handle every record of a stream batch; report exactly the alert records that were not fully published.

    A record the stream filter passes but that cannot be turned into alerts is reported too, so the mapping's
    retries, bisecting and dead-letter queue (and its alarm) deal with it instead of a silent skip.
    """
    alerts_by_record: dict[str, list[Alert]] = {}
    malformed: list[str] = []
    raw_records = event.get("Records", [])
    for position, raw in enumerate(raw_records if isinstance(raw_records, list) else []):
        try:
            record = StreamRecord.parse(raw)
            alerts_by_record.setdefault(record.sequence_number, []).extend(record.alerts())
        except SkippedRecordError as reason:
            logger.info("skip record %d: %s", position, reason)
        except MalformedAlertError as reason:
            logger.error("malformed alert record %d (%s): %s", position, record.sequence_number, reason)
            malformed.append(record.sequence_number)
    unique = {alert.dedup_id: alert for alerts in alerts_by_record.values() for alert in alerts}
    failed = publisher.publish(list(unique.values())) if unique else set()
    failing = malformed + [
        sequence_number
        for sequence_number, alerts in alerts_by_record.items()
        if any(alert.dedup_id in failed for alert in alerts) and sequence_number not in malformed
    ]
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in sorted(set(failing))]}


@lru_cache(maxsize=4)
def _publisher(topic_arn: str, table_name: str, endpoint: str | None, region: str | None) -> Publisher:
    session = boto3.session.Session(region_name=region)
    return Publisher(session.client("sns"), session.client("dynamodb"), topic_arn, table_name)


def publisher_from_environment(environ: Mapping[str, str] = os.environ) -> Publisher:
    """The publisher configured by the contract's environment variables, built once per configuration."""
    logger.setLevel(environ.get(ENV_LOG_LEVEL, "INFO").upper())
    topic_arn, table_name = environ.get(ENV_TOPIC_ARN, ""), environ.get(ENV_TABLE_NAME, "")
    missing = [name for name, value in ((ENV_TOPIC_ARN, topic_arn), (ENV_TABLE_NAME, table_name)) if not value]
    if missing:
        raise RuntimeError(f"the publisher needs the environment variables {', '.join(missing)}")
    return _publisher(
        topic_arn,
        table_name,
        environ.get("AWS_ENDPOINT_URL"),
        environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
    )


def lambda_handler(event: Mapping[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """The Lambda entry point."""
    return process_batch(event, publisher_from_environment())
