"""Fault matrix, publisher: partial SNS failures, redelivery, malformed records, and the dead-letter queue."""

from __future__ import annotations

import copy
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from gas_alerts import aws
from gas_alerts.local.delivery import CHECKPOINT_FILE, LocalDelivery
from gas_alerts.local.event_filter import matches
from gas_alerts.local.inbox import drain_inbox
from gas_alerts.local.provision import LocalResources, provision
from gas_alerts.local.stream_runner import Checkpoint, StreamRunner, sqs_dead_letter
from gas_alerts.outbox import DeliveredAlert
from gas_alerts.settings import Settings
from gas_publisher.contract import REGION_IDS, stream_filter_pattern
from gas_publisher.handler import Publisher, process_batch
from gas_publisher.week import WeekRecord
from tests.factories import prices, weekly
from tests.test_handler import FlakySns, load_event

W0, W1, W2, W3 = weekly(date(2026, 5, 4), 4)


def alert_week(day: date, previous: dict[str, str], now: dict[str, str]) -> WeekRecord:
    """A week item as the flow writes it when the regions in `now` fell."""
    drops = tuple(region for region in REGION_IDS if region in now and Decimal(now[region]) < Decimal(previous[region]))
    return WeekRecord(
        week=day,
        prices=prices(**now),
        previous_week=day - (W1 - W0),
        previous_prices=prices(**previous),
        drops=drops,
        alert=bool(drops),
    )


ALERT_WEEKS = [
    alert_week(W1, {"albany": "3.50", "new_york_city": "3.60"}, {"albany": "3.45", "new_york_city": "3.52"}),
    alert_week(W2, {"buffalo": "3.30"}, {"buffalo": "3.25"}),
    alert_week(W3, {"nassau": "3.40", "utica": "3.10"}, {"nassau": "3.31", "utica": "3.12"}),
]
EXPECTED = sorted([(W1, "albany"), (W1, "new_york_city"), (W2, "buffalo"), (W3, "nassau")])


def store(settings: Settings, records: list[WeekRecord]) -> None:
    for record in records:
        aws.dynamodb().put_item(TableName=settings.table_name, Item=record.to_item())


def received(resources: LocalResources) -> list[tuple[date, str]]:
    """(week, region) of every alert the unfiltered inbox received, sorted."""
    return sorted((week_of(alert), alert.region) for alert in drain_inbox(aws.sqs(), resources.inbox_url))


def week_of(alert: DeliveredAlert) -> date:
    return date.fromisoformat(alert.body.split("This week (", 1)[1][:10])


@dataclass
class FailingRegion:
    """Fails the SNS entries of one region, for the first `times` entries that carry it."""

    region: str
    times: int
    failed: int = 0
    decided: dict[int, tuple[dict[str, Any], bool]] = field(default_factory=dict)

    def __call__(self, entry: dict[str, Any]) -> bool:
        # FlakySns asks twice about each entry (to split failing from passing), so decide once per entry;
        # the entry is kept with its decision so that its id() cannot be reused by a later entry.
        if id(entry) not in self.decided:
            failing = entry["MessageAttributes"]["region"]["StringValue"] == self.region and self.failed < self.times
            self.failed += failing
            self.decided[id(entry)] = (entry, failing)
        return self.decided[id(entry)][1]


@dataclass
class CountingHandler:
    """The real batch processing with a chosen SNS client; remembers the records of each invocation."""

    resources: LocalResources
    settings: Settings
    sns: Any
    invocations: list[list[str]] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        self.invocations.append([record["dynamodb"]["NewImage"]["sk"]["S"] for record in event["Records"]])
        publisher = Publisher(self.sns, aws.dynamodb(), self.resources.topic_arn, self.settings.table_name)
        return process_batch(event, publisher)


def runner(settings: Settings, resources: LocalResources, handler: CountingHandler, **options: Any) -> StreamRunner:
    return StreamRunner(
        streams=aws.dynamodb_streams(),
        stream_arn=resources.stream_arn,
        handler=handler,
        checkpoint=Checkpoint(settings.state_dir / CHECKPOINT_FILE),
        pattern=stream_filter_pattern(),
        retry_delay=0,
        dead_letter=sqs_dead_letter(aws.sqs(), resources.dead_letter_url),
        **options,
    )


# ---- SNS fails some messages of a batch ---------------------------------------------------------------------------


def test_partial_publish_failure_through_the_stream_sends_every_alert_exactly_once(settings: Settings) -> None:
    """GIVEN SNS fails NYC once WHEN the stream is delivered THEN the retry re-sends W1..W3 but publishes only NYC."""
    resources = provision(settings)
    store(settings, ALERT_WEEKS)
    handler = CountingHandler(resources, settings, FlakySns(aws.sns(), FailingRegion("new_york_city", times=1)))

    stats = runner(settings, resources, handler).run()

    # Like Lambda, the retry starts at the failed record, so the records after it are handed over again.
    assert handler.invocations == [[W1.isoformat(), W2.isoformat(), W3.isoformat()]] * 2
    assert (stats.retried_records, stats.dead_lettered) == (3, 0)
    assert received(resources) == EXPECTED


# ---- the same record delivered twice ------------------------------------------------------------------------------


def test_a_lost_checkpoint_redelivers_the_stream_but_sends_nothing_twice(settings: Settings) -> None:
    """GIVEN the runner lost its checkpoint after delivering WHEN it starts over THEN it re-reads, and sends nothing."""
    provision(settings)
    store(settings, ALERT_WEEKS)
    delivery = LocalDelivery.connect(settings)
    _, first = delivery.deliver_once()
    (settings.state_dir / CHECKPOINT_FILE).unlink()

    stats, second = delivery.deliver_once()

    assert sorted((week_of(alert), alert.region) for alert, _ in first) == EXPECTED
    assert (stats.matched, stats.dead_lettered, second) == (3, 0, [])


# ---- malformed and hostile records --------------------------------------------------------------------------------


class RecordingSns:
    """An SNS client that accepts every entry and keeps it (the boundary; the handler's logic is what is tested)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.entries.extend(PublishBatchRequestEntries)
        return {"Successful": [{"Id": entry["Id"], "MessageId": "m"} for entry in PublishBatchRequestEntries]}


class EmptyLedger:
    """A DynamoDB client whose sent ledger is empty and accepts every write."""

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        return {"Responses": {}}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        return {}


def offline_publisher() -> tuple[Publisher, RecordingSns]:
    sns = RecordingSns()
    return Publisher(sns, EmptyLedger(), "arn:aws:sns:us-east-1:000000000000:t", "t"), sns  # type: ignore[arg-type]


def test_malformed_records_are_skipped_with_a_log_line_and_the_good_one_is_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN 18 broken or non-alert records and one good one THEN 18 skip lines, one alert, no failed records."""
    event = load_event("malformed_records.json")
    publisher, sns = offline_publisher()

    with caplog.at_level(logging.INFO, logger="gas_publisher"):
        response = process_batch(event, publisher)

    assert response == {"batchItemFailures": []}
    assert [entry["Subject"] for entry in sns.entries] == ["Gas fell 10 cents in Buffalo: $3.10/gal"]
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skip record")]
    assert len(skipped) == len(event["Records"]) - 1
    for reason in (
        "rev is not",
        "prices.albany is not a finite number",
        "not a plausible drop",
        "alert is not a boolean",
        "drops is not a list",
        "prices is missing or not a map",
        "sk is not an ISO date",
        "pk is not the dataset partition",
        "REMOVE event",
        "MODIFY event",
        "INSERT without a NewImage",
        "unnamed event",
        "no SequenceNumber",
        "no dynamodb section",
    ):
        assert any(reason in line for line in skipped), reason


ALERT_IMAGE: dict[str, Any] = load_event("alert_insert.json")["Records"][0]["dynamodb"]["NewImage"]
BAD_VALUES: list[object] = [
    "DELETE",
    None,
    "text",
    7,
    [],
    {},
    {"S": "x"},
    {"S": 7},
    {"N": "abc"},
    {"N": "NaN"},
    {"N": "sNaN"},
    {"N": "-Infinity"},
    {"N": "9.9E+125"},
    {"N": "1E-130"},
    {"N": "-3.38"},
    {"N": "0"},
    {"BOOL": True},
    {"BOOL": "true"},
    {"L": "x"},
    {"L": [{"S": "../../etc/passwd"}]},
    {"L": [{"N": "1"}]},
    {"M": []},
    {"M": {"<script>": {"N": "3.00"}}},
    {"SS": ["albany"]},
    {"NULL": True},
]
PATHS = [
    ("pk",),
    ("sk",),
    ("prices",),
    ("prices", "M", "albany"),
    ("prices", "M", "new_york_city"),
    ("previous_prices",),
    ("previous_prices", "M", "albany"),
    ("previous_week",),
    ("drops",),
    ("drops", "L", 0),
    ("alert",),
    ("origin",),
    ("rev",),
    ("recorded_at",),
]


def mutated(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """The alert image with the value at `path` replaced (or deleted)."""
    image = copy.deepcopy(ALERT_IMAGE)
    target: Any = image
    for key in path[:-1]:
        target = target[key]
    if value == "DELETE":
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return image


@pytest.mark.parametrize("path", PATHS, ids=lambda path: ".".join(map(str, path)))
def test_no_mutation_of_an_alert_image_crashes_the_batch_or_sends_a_bad_alert(path: tuple[str | int, ...]) -> None:
    """Every wrong type or value at this spot is either skipped or still a valid alert; the batch never fails."""
    problems = []
    for value in BAD_VALUES:
        record = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": mutated(path, value)}}
        publisher, sns = offline_publisher()
        try:
            response = process_batch({"Records": [record]}, publisher)
        except Exception as error:  # every crash is collected, then reported together
            problems.append(f"{value!r}: {type(error).__name__}: {error}")
            continue
        if response != {"batchItemFailures": []}:
            problems.append(f"{value!r}: reported {response}")
        for entry in sns.entries:
            region = entry["MessageAttributes"]["region"]["StringValue"]
            cents = Decimal(entry["MessageAttributes"]["drop_cents"]["StringValue"])
            if region not in REGION_IDS or not 0 < cents < 1500 or not entry["Subject"].isascii():
                problems.append(f"{value!r}: published {region!r} {cents}")
    assert problems == []


# ---- retries exhausted: the dead-letter queue, and nothing lost ---------------------------------------------------


def redrive(message: Mapping[str, Any], handler: Callable[[dict[str, Any], Any], Any]) -> int:
    """Re-read the records a dead-letter message names, by sequence number, and hand them to the handler again."""
    info = message["DDBStreamBatchInfo"]
    streams = aws.dynamodb_streams()
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    end = int(info["endSequenceNumber"])
    records = [
        {**record, "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": 0}}
        for record in streams.get_records(ShardIterator=iterator, Limit=info["batchSize"] * 10)["Records"]
        if int(record["dynamodb"]["SequenceNumber"]) <= end
    ]
    batch = [record for record in records if matches(stream_filter_pattern(), record)]
    assert len(batch) == info["batchSize"]
    handler({"Records": batch}, None)
    return len(batch)


def test_exhausted_retries_land_in_the_dead_letter_queue_and_can_be_redriven(settings: Settings) -> None:
    """GIVEN SNS keeps failing NYC THEN its batch goes to the DLQ; re-read by sequence number, it sends only NYC."""
    resources = provision(settings)
    store(settings, ALERT_WEEKS)
    failing = CountingHandler(resources, settings, FlakySns(aws.sns(), FailingRegion("new_york_city", times=99)))

    stats = runner(settings, resources, failing, max_retry_attempts=2).run()

    assert (len(failing.invocations), stats.dead_lettered) == (3, 3)
    assert received(resources) == [pair for pair in EXPECTED if pair != (W1, "new_york_city")]
    sqs = aws.sqs()
    [dead] = sqs.receive_message(QueueUrl=resources.dead_letter_url, MaxNumberOfMessages=10)["Messages"]
    message = json.loads(dead["Body"])
    assert message["requestContext"] == {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3}
    assert message["DDBStreamBatchInfo"]["batchSize"] == 3
    assert message["DDBStreamBatchInfo"]["streamArn"] == resources.stream_arn

    healthy = CountingHandler(resources, settings, aws.sns())
    assert redrive(message, healthy) == 3

    assert received(resources) == [(W1, "new_york_city")]
    assert Counter(healthy.invocations[0]) == Counter(record.week.isoformat() for record in ALERT_WEEKS)
