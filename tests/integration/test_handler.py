"""The publisher Lambda on moto: one message per dropped region, per-record failures, no duplicate alerts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.environment import patched_environment
from gas_local.inbox import drain_inbox
from gas_local.outbox import DeliveredAlert
from gas_local.provision import LocalResources, provision
from gas_ops.publisher import lambda_environment
from gas_ops.stream import InvocationContext
from gas_publisher.handler import lambda_handler, process_batch
from gas_publisher.publisher import Publisher
from tests.support.data import load_event
from tests.support.fakes import FlakySns, region_is

ALERT_SEQ = "1100000000000000000101"


@dataclass
class Stack:
    """Provisioned resources plus a way to read what subscribers received."""

    resources: LocalResources
    settings: Settings

    def publisher(self, sns: Any = None) -> Publisher:
        return Publisher(sns or aws.sns(), aws.dynamodb(), self.resources.topic_arn, self.settings.table_name)

    def received(self) -> list[DeliveredAlert]:
        return drain_inbox(aws.sqs(), self.resources.inbox_url)


@pytest.fixture
def stack(settings: Settings) -> Stack:
    """Table, topic and an inbox queue subscribed without a filter, on moto."""
    return Stack(provision(settings), settings)


def test_one_message_per_dropped_region(stack: Stack) -> None:
    """GIVEN an alert INSERT with two drops WHEN handled THEN two messages with subject, body and attributes."""
    response = process_batch(load_event("alert_insert.json"), stack.publisher())

    assert response == {"batchItemFailures": []}
    albany, nyc = sorted(stack.received(), key=lambda alert: alert.region)
    assert (nyc.subject, nyc.region, nyc.drop_cents) == (
        "Gas fell 7 cents in New York City: $3.38/gal",
        "new_york_city",
        "7",
    )
    assert (albany.subject, albany.region, albany.drop_cents) == (
        "Gas fell 4 cents in Albany: $3.41/gal",
        "albany",
        "4",
    )
    for text in (
        "$3.38/gal",
        "$3.45/gal",
        "-7¢",
        "(-2.0%)",
        "2026-11-23",
        "2026-11-16",
        "New York City",
        "https://data.ny.gov/d/wuxr-ni2i",
    ):
        assert text in nyc.body


# The two records of mixed_batch.json that pass the stream filter but are malformed (an unknown region, a bad number).
MALFORMED = [{"itemIdentifier": "1100000000000000000205"}, {"itemIdentifier": "1100000000000000000207"}]


def test_every_record_is_handled_and_the_rest_skipped_with_a_log_line(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN alerts, quiet weeks, MODIFY, REMOVE and malformed records THEN alerts publish, broken alerts fail."""
    with caplog.at_level(logging.INFO, logger="gas_publisher"):
        response = process_batch(load_event("mixed_batch.json"), stack.publisher())

    assert response == {"batchItemFailures": MALFORMED}
    assert sorted(alert.region for alert in stack.received()) == ["albany", "buffalo", "new_york_city"]
    lines = [record.getMessage() for record in caplog.records]
    skipped = [line for line in lines if line.startswith("skip record")]
    failed = [line for line in lines if line.startswith("malformed alert record")]
    assert (len(skipped), len(failed)) == (5, 2)
    assert any("MODIFY event" in line for line in skipped)
    assert any("REMOVE event" in line for line in skipped)
    assert any("unknown region" in line for line in failed)
    assert any("not a number" in line for line in failed)
    assert any("no SequenceNumber" in line or "no dynamodb section" in line for line in skipped)


def test_redelivered_record_sends_no_second_alert(stack: Stack) -> None:
    """GIVEN the same record delivered twice (at-least-once streams) THEN each alert goes out once."""
    event = load_event("alert_insert.json")
    publisher = stack.publisher()
    process_batch(event, publisher)
    second = process_batch(event, publisher)

    assert second == {"batchItemFailures": []}
    assert len(stack.received()) == 2


def test_duplicate_record_within_one_batch_sends_once(stack: Stack) -> None:
    """GIVEN one batch holding the same record twice THEN each alert goes out once."""
    event = load_event("alert_insert.json")
    event["Records"] = event["Records"] * 2
    process_batch(event, stack.publisher())
    assert len(stack.received()) == 2


def test_partial_publish_failure_reports_exactly_those_records(stack: Stack) -> None:
    """GIVEN SNS fails the NYC message THEN only its record is reported, and the retry sends only NYC."""
    event = load_event("mixed_batch.json")
    flaky = FlakySns(aws.sns(), region_is("new_york_city"))

    first = process_batch(event, stack.publisher(flaky))

    assert first == {"batchItemFailures": [{"itemIdentifier": "1100000000000000000201"}, *MALFORMED]}
    assert sorted(alert.region for alert in stack.received()) == ["albany", "buffalo"]

    retry = process_batch(event, stack.publisher())

    assert retry == {"batchItemFailures": MALFORMED}
    assert [alert.region for alert in stack.received()] == ["new_york_city"]


def test_publish_call_failing_entirely_fails_every_alert_record(stack: Stack) -> None:
    """GIVEN PublishBatch raises THEN every record with an alert is reported and nothing is recorded as sent."""
    flaky = FlakySns(aws.sns(), region_is("none"), raise_all=True)
    response = process_batch(load_event("mixed_batch.json"), stack.publisher(flaky))
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": "1100000000000000000201"},
            *MALFORMED,
            {"itemIdentifier": "1100000000000000000209"},
        ]
    }
    process_batch(load_event("mixed_batch.json"), stack.publisher())
    assert len(stack.received()) == 3


def test_unreadable_ledger_fails_the_records_and_publishes_nothing(stack: Stack) -> None:
    """GIVEN the sent ledger cannot be read THEN nothing is published and every alert record is retried."""
    publisher = Publisher(aws.sns(), aws.dynamodb(), stack.resources.topic_arn, "no-such-table")
    response = process_batch(load_event("alert_insert.json"), publisher)
    assert response == {"batchItemFailures": [{"itemIdentifier": ALERT_SEQ}]}
    assert stack.received() == []


def test_lambda_handler_reads_its_configuration_from_the_environment(stack: Stack) -> None:
    """The entry point takes the table and both topics from the environment and returns the batch response."""
    resources = stack.resources
    environment = lambda_environment(stack.settings.table_name, resources.topic_arn, resources.digest_topic_arn)
    with patched_environment(environment):
        response = lambda_handler(load_event("alert_insert.json"), InvocationContext())
    assert response == {"batchItemFailures": []}
    assert len(stack.received()) == 2
    [digest] = drain_inbox(aws.sqs(), resources.digest_inbox_url)
    assert (digest.attributes["regions_fallen"], digest.attributes["largest_drop_cents"]) == ("2", "7")
