"""The local event source mapping: real stream reads, retries, checkpoint and DLQ."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.provision import ensure_queue, ensure_table
from gas_local.stream_runner import Checkpoint, DeliveryStats, StreamRunner, sqs_dead_letter
from gas_publisher.contract import stream_filter_pattern
from gas_publisher.week import WeekRecord
from tests.support.data import prices, weekly

WEEKS = weekly(date(2026, 1, 5), 12)


@dataclass
class SpyHandler:
    """Records each invocation; fails the records the test names, a given number of times."""

    fail: set[str] = field(default_factory=set)
    fail_times: int = 0
    raise_times: int = 0
    batches: list[list[str]] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        weeks = [record["dynamodb"]["NewImage"]["sk"]["S"] for record in event["Records"]]
        self.batches.append(weeks)
        if self.raise_times:
            self.raise_times -= 1
            raise RuntimeError("handler crashed")
        failures = []
        if self.fail_times:
            self.fail_times -= 1
            failures = [
                {"itemIdentifier": record["dynamodb"]["SequenceNumber"]}
                for record in event["Records"]
                if record["dynamodb"]["NewImage"]["sk"]["S"] in self.fail
            ]
        return {"batchItemFailures": failures}


@pytest.fixture(autouse=True)
def table(request: pytest.FixtureRequest) -> None:
    """Create the test's table with its stream before anything writes to it."""
    if "settings" in request.fixturenames:
        ensure_table(aws.dynamodb(), request.getfixturevalue("settings").table_name)


def put(settings: Settings, day: date, *, alert: bool) -> None:
    """Write a week item straight to the table (the stream is what is under test)."""
    record = WeekRecord(week=day, prices=prices(albany="3.00"), alert=alert, drops=())
    aws.dynamodb().put_item(TableName=settings.table_name, Item=record.to_item())


def runner_for(settings: Settings, handler: SpyHandler, **options: Any) -> StreamRunner:
    stream_arn = ensure_table(aws.dynamodb(), settings.table_name)
    return StreamRunner(
        streams=aws.dynamodb_streams(),
        stream_arn=stream_arn,
        handler=handler,
        checkpoint=Checkpoint(settings.state_dir / "checkpoints.json"),
        pattern=stream_filter_pattern(),
        retry_delay=0,
        **options,
    )


def test_only_matching_records_reach_the_handler_in_batches(settings: Settings) -> None:
    """Alert INSERTs are delivered in batches of batch_size; quiet weeks and MODIFYs never reach the handler."""
    handler = SpyHandler()
    runner = runner_for(settings, handler, batch_size=2)
    for index, day in enumerate(WEEKS[:6]):
        put(settings, day, alert=index % 2 == 0)
    put(settings, WEEKS[0], alert=True)  # an identical re-put: moto emits MODIFY

    stats = runner.run()

    assert handler.batches == [[WEEKS[0].isoformat(), WEEKS[2].isoformat()], [WEEKS[4].isoformat()]]
    assert (stats.read, stats.matched, stats.invocations) == (7, 3, 2)


def test_checkpoint_keeps_the_position_between_runs(settings: Settings) -> None:
    """A second run, even by a new runner reading the same checkpoint file, delivers only what is new."""
    handler = SpyHandler()
    put(settings, WEEKS[0], alert=True)
    runner_for(settings, handler).run()
    runner_for(settings, handler).run()
    put(settings, WEEKS[1], alert=True)
    runner_for(settings, handler).run()

    assert handler.batches == [[WEEKS[0].isoformat()], [WEEKS[1].isoformat()]]


def test_batch_item_failures_resume_from_the_first_failed_record(settings: Settings) -> None:
    """When a record fails, the retry starts at that record; the records before it are not re-sent."""
    handler = SpyHandler(fail={WEEKS[2].isoformat()}, fail_times=1)
    for day in WEEKS[:4]:
        put(settings, day, alert=True)

    stats = runner_for(settings, handler).run()

    assert handler.batches == [[d.isoformat() for d in WEEKS[:4]], [d.isoformat() for d in WEEKS[2:4]]]
    assert stats.dead_lettered == 0


def test_exhausted_retries_go_to_the_dead_letter_queue(settings: Settings) -> None:
    """A record that keeps failing is retried max_retry_attempts times, then described in the DLQ."""
    sqs = aws.sqs()
    queue_url, _ = ensure_queue(sqs, settings.dead_letter_queue)
    handler = SpyHandler(fail={WEEKS[1].isoformat()}, fail_times=99)
    runner = runner_for(settings, handler, max_retry_attempts=2, dead_letter=sqs_dead_letter(sqs, queue_url))
    for day in WEEKS[:3]:
        put(settings, day, alert=True)

    stats = runner.run()

    assert len(handler.batches) == 3
    assert stats.dead_lettered == 2
    [message] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == runner.stream_arn
    assert runner.run() == DeliveryStats(), "the checkpoint moved past the dead-lettered batch"


def test_handler_crash_retries_the_whole_batch(settings: Settings) -> None:
    """Without bisecting, an exception from the handler fails the whole batch, which is retried whole."""
    handler = SpyHandler(raise_times=1)
    for day in WEEKS[:2]:
        put(settings, day, alert=True)
    runner_for(settings, handler, bisect_on_error=False).run()
    assert handler.batches == [[d.isoformat() for d in WEEKS[:2]]] * 2


def test_a_crashing_batch_is_bisected_as_the_terraform_mapping_does(settings: Settings) -> None:
    """With bisecting (the Terraform mapping's setting, and the default), a crashed batch is retried in halves."""
    handler = SpyHandler(raise_times=1)
    for day in WEEKS[:4]:
        put(settings, day, alert=True)
    runner_for(settings, handler).run()
    weeks = [day.isoformat() for day in WEEKS[:4]]
    assert handler.batches == [weeks, weeks[:2], weeks[2:]]
