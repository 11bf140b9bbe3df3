"""An invocation that dies holding claims, and batches that exhausted their retries: no fall is lost (moto).

The stream runner and the real handler run as `local deliver` runs them; a death is the Lambda runtime stopping the
invocation mid-publish, which Lambda reports to the mapping as a function error.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_cli.app import app
from gas_local.delivery import LocalDelivery
from gas_local.lambda_runtime import FunctionError
from gas_local.outbox import DeliveredAlert
from gas_local.provision import provision
from gas_local.socrata import local_socrata
from gas_ops.publisher import lambda_environment, publisher_handler
from gas_ops.redrive import redrive
from gas_ops.resources import find_topic_arn
from gas_publisher.contract import LATE_PARTITION, REGION_IDS
from gas_publisher.ledger import SentLedger
from gas_publisher.publisher import Publisher
from tests.support.data import LATEST_SNAPSHOT_CSV, csv_rows
from tests.support.dynamo_faults import DynamoFaults
from tests.support.steps import store_this_weeks_fall, weekly_check
from tests.support.told import alerts_by_week, digests_by_week

pytestmark = pytest.mark.slow(seconds=25)

ALL_FELL = date(2022, 7, 18)  # all 17 series fell that week
FEB23 = date(2026, 2, 23)  # Glens Falls, Watertown and White Plains fell that week
FEB23_FALLS = ("glens_falls", "watertown", "white_plains")


class InvocationStoppedError(BaseException):
    """The Lambda runtime stops a timed-out invocation: nothing in the handler runs after it."""


def store_week(settings: Settings, week: date) -> None:
    """The check stores the week before as a baseline, then the week with its falls."""
    with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as source:
        source.reveal_until(week - timedelta(weeks=1))
        weekly_check(source.url, settings.table_name)
        source.reveal_until(week)
        weekly_check(source.url, settings.table_name)


def dead_letters(settings: Settings) -> list[dict[str, Any]]:
    """The on-failure records waiting in the dead-letter queue (left there)."""
    sqs = aws.sqs()
    url = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_a_retry_takes_over_the_claims_of_the_invocation_that_died_and_sends_every_alert(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first invocation claims the 17 alerts and is stopped before publishing; its retry sends all 17, once."""
    provision(settings)
    store_week(settings, ALL_FELL)
    delivery = LocalDelivery.connect(settings)
    publish_alerts = Publisher._publish_alerts
    stopped: list[int] = []

    def stopped_once(self: Publisher, *args: Any) -> set[str]:
        if not stopped:
            stopped.append(1)
            raise InvocationStoppedError
        return publish_alerts(self, *args)

    monkeypatch.setattr(Publisher, "_publish_alerts", stopped_once)
    handler = delivery.runner.handler

    def as_lambda_reports_it(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        except InvocationStoppedError:
            raise FunctionError("the invocation timed out") from None

    delivery.runner.handler = as_lambda_reports_it
    started = time.monotonic()

    stats, delivered = delivery.deliver_once()

    emails = [email for email, _ in delivered]
    assert stopped == [1]
    assert (stats.invocations, stats.dead_lettered) == (2, 0), "the first retry took over and succeeded"
    assert time.monotonic() - started < 30, "no wait for the dead invocation's lease"
    assert alerts_by_week(emails) == Counter({(ALL_FELL, region): 1 for region in REGION_IDS})
    assert digests_by_week(emails) == Counter({(ALL_FELL, region): 1 for region in REGION_IDS})
    assert dead_letters(settings) == []


def test_a_live_claim_of_another_consumer_is_not_taken_over(settings: Settings) -> None:
    """Same record, another consumer: its claim holds until its lease ends; the same consumer takes it over."""
    provision(settings)
    ledger = SentLedger(aws.dynamodb(), settings.table_name)
    now = int(time.time() * 1000)
    mapping = "arn:aws:lambda:us-east-1:123456789012:function:publisher 4100000000000000000001"

    assert ledger.claim(ALL_FELL, {"albany": mapping}, "first", now, now + 60_000)
    assert not ledger.claim(ALL_FELL, {"albany": "redrive 4100000000000000000001"}, "other", now, now + 60_000)
    assert ledger.claim(ALL_FELL, {"albany": mapping}, "retry", now, now + 60_000), "the mapping's own retry"
    ledger.mark_sent(ALL_FELL, ["albany"])
    assert not ledger.claim(ALL_FELL, {"albany": mapping}, "again", now, now + 60_000), "sent is final"


def exhaust_retries(settings: Settings) -> tuple[LocalDelivery, list[DeliveredAlert]]:
    """Deliver 2026-02-23 with a publisher whose alert topic does not exist: the batch goes to the dead-letter queue.

    The digest topic works, so the week's digest is out; the three alerts are not.
    """
    provision(settings)
    store_week(settings, FEB23)
    delivery = LocalDelivery.connect(settings)
    digest_topic = find_topic_arn(aws.sns(), settings.digest_topic_name)
    missing_topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    wrong = lambda_environment(settings.table_name, missing_topic, digest_topic or "")
    delivery.runner.handler = publisher_handler(wrong)
    delivery.runner.retry_delay = 0.01
    stats, delivered = delivery.deliver_once()
    emails = [email for email, _ in delivered]
    assert (stats.dead_lettered, alerts_by_week(emails)) == (1, Counter())
    return delivery, emails


def test_redrive_sends_a_dead_lettered_batch_once(settings: Settings) -> None:
    """The topic fixed, `redrive` re-reads the batch from the stream and sends it; a second redrive sends nothing."""
    delivery, before = exhaust_retries(settings)
    [pointer] = dead_letters(settings)

    report = redrive(settings)
    _, delivered = delivery.deliver_once()  # the inboxes: what the subscribers received
    again = redrive(settings)

    emails = before + [email for email, _ in delivered]
    told = {(FEB23, region) for region in FEB23_FALLS}
    assert alerts_by_week(emails) == Counter(dict.fromkeys(told, 1))
    assert digests_by_week(emails) == Counter(dict.fromkeys(told, 1))
    assert (report.pointers, report.records, report.failed, report.expired) == (1, 1, 0, [])
    assert report.sent == [f"{FEB23}#{region}" for region in FEB23_FALLS]
    assert pointer["DDBStreamBatchInfo"]["batchSize"] == 1
    assert dead_letters(settings) == [], "a redriven batch leaves the queue"
    assert (again.pointers, again.records) == (0, 0)


@pytest.fixture
def trimmed_stream() -> Iterator[DynamoFaults]:
    """The stream answers GetShardIterator as AWS does once the records are older than its 24 hours."""
    faults = DynamoFaults()
    faults.fail("GetShardIterator", "TrimmedDataAccessException")
    events = aws.dynamodb_streams().meta.events
    # A before-send handler may return a response, which botocore then uses instead of sending the request.
    answer = cast("Callable[..., None]", faults.answer)
    events.register("before-send.dynamodb-streams.GetShardIterator", answer, unique_id="trimmed")
    yield faults
    events.unregister("before-send.dynamodb-streams.GetShardIterator", unique_id="trimmed")


def test_records_past_the_streams_retention_that_the_sweep_cannot_send_are_reported_with_their_weeks_and_kept(
    settings: Settings, request: pytest.FixtureRequest
) -> None:
    """The stream lost the batch and the topic still refuses: redrive names its weeks' unsent alerts and keeps it.

    Once the topic works, the next redrive has the sweep send them from the table and deletes the pointer.
    """
    exhaust_retries(settings)
    request.getfixturevalue("trimmed_stream")
    digest_topic = find_topic_arn(aws.sns(), settings.digest_topic_name)
    missing_topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    still_broken = publisher_handler(lambda_environment(settings.table_name, missing_topic, digest_topic or ""))

    report = redrive(settings, handler=still_broken)
    kept = dead_letters(settings)
    result = CliRunner().invoke(app, ["redrive"], env=settings.to_environment())

    [expired] = report.expired
    assert expired.unsent == {FEB23: FEB23_FALLS}, "the digest went out; the three alerts did not"
    assert len(kept) == 1, "kept while its alerts are unsent"
    assert result.exit_code == 0, result.output
    assert "past the stream's retention" in result.output
    assert "Sent from the table by the sweep: 2026-02-23: Glens Falls, Watertown, White Plains" in result.output
    assert dead_letters(settings) == []


def poison_ahead_of(settings: Settings) -> dict[str, str]:
    """Put six dead-letter messages that are not valid pointers ahead of the valid one; their ids, with the fault."""
    sqs = aws.sqs()
    url = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    valid = json.loads(message["Body"])["DDBStreamBatchInfo"]
    faults = {
        "an end that is no number": {"endSequenceNumber": "4x"},
        "a start that is no number": {"startSequenceNumber": "abc"},
        "a shard that does not exist": {"shardId": "shardId-00000001771000000000-0a1b2c3d"},
        "a stream that does not exist": {"streamArn": valid["streamArn"].replace("/stream/", "-gone/stream/")},
    }
    bodies = {"bad JSON": "{not json", "missing fields": json.dumps({"DDBStreamBatchInfo": {"shardId": "s"}})}
    bodies |= {fault: json.dumps({"DDBStreamBatchInfo": {**valid, **change}}) for fault, change in faults.items()}
    poison = {sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]: fault for fault, body in bodies.items()}
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
    return poison


def test_pointers_that_are_not_valid_are_named_and_kept_and_the_valid_ones_behind_them_are_redriven(
    settings: Settings,
) -> None:
    """Six poison messages ahead of a valid pointer: each named by its id and kept visible, the valid one redriven."""
    delivery, before = exhaust_retries(settings)
    poison = poison_ahead_of(settings)

    result = CliRunner().invoke(app, ["redrive"], env=settings.to_environment())
    _, delivered = delivery.deliver_once()

    emails = before + [email for email, _ in delivered]
    assert alerts_by_week(emails) == Counter({(FEB23, region): 1 for region in FEB23_FALLS}), result.output
    assert result.exit_code == 1
    for message_id, fault in poison.items():
        [line] = [line for line in result.output.splitlines() if message_id in line]
        assert "not a valid stream batch pointer" in line, fault
    sqs = aws.sqs()
    url = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    assert {message["MessageId"] for message in left} == set(poison), "kept, visible at once; the valid one is gone"


def test_a_shard_the_stream_no_longer_lists_a_day_after_the_batch_is_expired_not_poison(settings: Settings) -> None:
    """A pointer whose batch arrived over 24 hours ago, to a shard the stream no longer lists, is reported expired."""
    exhaust_retries(settings)
    sqs = aws.sqs()
    url = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    document = json.loads(message["Body"])
    aged = {
        "shardId": "shardId-00000001771000000000-0a1b2c3d",
        "approximateArrivalOfLastRecord": "2026-02-23T15:00:00.000Z",
    }
    document["DDBStreamBatchInfo"] |= aged
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(document))

    report = redrive(settings)

    assert (len(report.expired), report.unreadable) == (1, [])
    assert report.swept == [f"{FEB23}#{region}" for region in FEB23_FALLS], "what it told, sent from the table"
    assert report.expired[0].unsent == {}


def test_a_corrupted_late_item_is_named_and_the_other_unsent_alerts_are_still_sent(
    settings: Settings, request: pytest.FixtureRequest
) -> None:
    """A late item without prices: redrive names its table and keys, keeps the pointer, and sends the rest."""
    exhaust_retries(settings)
    request.getfixturevalue("trimmed_stream")
    corrupted: dict[str, Any] = {"pk": {"S": LATE_PARTITION}, "sk": {"S": f"{FEB23}#albany"}, "alert": {"BOOL": True}}
    aws.dynamodb().put_item(TableName=settings.table_name, Item=corrupted | {"drops": {"L": [{"S": "albany"}]}})

    result = CliRunner().invoke(app, ["redrive"], env=settings.to_environment())

    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if "prices is missing" in line]
    assert f"table {settings.table_name}" in line
    assert f"pk={LATE_PARTITION}, sk={FEB23}#albany" in line
    assert "Sent from the table by the sweep: 2026-02-23: Glens Falls, Watertown, White Plains" in result.output
    assert len(dead_letters(settings)) == 1, "kept: what the unreadable item tells is unknown"


def test_a_pointer_past_the_streams_retention_is_healed_from_the_table_and_deleted(
    settings: Settings, request: pytest.FixtureRequest
) -> None:
    """This week's batch dead-lettered and trimmed: redrive has the sweep send its fall, once, and drops the pointer."""
    provision(settings)
    week = store_this_weeks_fall(settings.table_name, datetime.now(UTC) - timedelta(hours=2))
    delivery = LocalDelivery.connect(settings)
    digest_topic = find_topic_arn(aws.sns(), settings.digest_topic_name)
    wrong = lambda_environment(
        settings.table_name, "arn:aws:sns:us-east-1:123456789012:no-such-topic", digest_topic or ""
    )
    delivery.runner.handler = publisher_handler(wrong)
    delivery.runner.retry_delay = 0.01
    _, before = delivery.deliver_once()
    request.getfixturevalue("trimmed_stream")

    result = CliRunner().invoke(app, ["redrive"], env=settings.to_environment())
    _, after = delivery.deliver_once()

    emails = [email for email, _ in before + after]
    assert result.exit_code == 0, result.output
    assert f"Sent from the table by the sweep: {week}: Albany" in result.output
    assert "past the stream's retention; every alert the recent weeks told is sent, so its pointer is deleted" in (
        result.output
    )
    assert alerts_by_week(emails) == Counter({(week, "albany"): 1})
    assert digests_by_week(emails) == Counter({(week, "albany"): 1}), "the digest went out before, and not again"
    assert dead_letters(settings) == []
