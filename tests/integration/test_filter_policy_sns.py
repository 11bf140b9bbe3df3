"""Subscriber filter policies applied by SNS (moto) to real alerts."""

from __future__ import annotations

import json

import pytest

from gas_alerts import aws
from gas_alerts.filter_policy import SubscriberFilter, filter_policy
from gas_alerts.settings import Settings
from gas_local.inbox import drain_inbox
from gas_local.provision import provision
from gas_publisher.contract import ATTR_LARGEST_DROP_CENTS, ATTR_REGIONS_FALLEN
from gas_publisher.handler import process_batch
from gas_publisher.publisher import Publisher
from tests.support.data import EVENTS_DIR


@pytest.mark.parametrize(
    ("regions", "min_drop", "expected"),
    [
        (None, None, ["albany", "new_york_city"]),
        (["new_york_city"], None, ["new_york_city"]),
        (None, 5, ["new_york_city"]),
        (["albany"], 5, []),
        (["albany", "nassau"], 4, ["albany"]),
    ],
)
def test_sns_delivers_only_what_the_policy_allows(
    settings: Settings, regions: list[str] | None, min_drop: int | None, expected: list[str]
) -> None:
    """With Albany down 4¢ and NYC down 7¢, each subscriber's inbox gets exactly the alerts its policy admits."""
    resources = provision(settings, filter_policy(regions, min_drop))
    event = json.loads((EVENTS_DIR / "alert_insert.json").read_text(encoding="utf-8"))

    process_batch(event, Publisher(aws.sns(), aws.dynamodb(), resources.topic_arn, settings.table_name))

    assert sorted(alert.region for alert in drain_inbox(aws.sqs(), resources.inbox_url)) == expected


def test_reprovisioning_replaces_the_policy(settings: Settings) -> None:
    """Running provision again with another choice updates the existing subscription instead of adding one."""
    first = provision(settings, filter_policy(["albany"]))
    second = provision(settings, {})
    assert first.inbox_subscription_arn == second.inbox_subscription_arn
    attributes = aws.sns().get_subscription_attributes(SubscriptionArn=second.inbox_subscription_arn)["Attributes"]
    assert json.loads(attributes.get("FilterPolicy") or "{}") == {}


def test_the_digest_inbox_gets_only_the_digests_its_policy_allows(settings: Settings) -> None:
    """With min_regions_fallen 5, a digest of a week when 6 regions fell arrives and one of 3 regions does not."""
    digest_policy = SubscriberFilter(digest=True, min_regions_fallen=5).policy()
    resources = provision(settings, digest_policy=digest_policy)
    for fallen in (3, 6):
        aws.sns().publish(
            TopicArn=resources.digest_topic_arn,
            Message=f"{fallen} regions fell",
            MessageAttributes={
                ATTR_REGIONS_FALLEN: {"DataType": "Number", "StringValue": str(fallen)},
                ATTR_LARGEST_DROP_CENTS: {"DataType": "Number", "StringValue": "7"},
            },
        )

    received = aws.sqs().receive_message(QueueUrl=resources.digest_inbox_url, MaxNumberOfMessages=10)
    bodies = [json.loads(message["Body"])["Message"] for message in received.get("Messages", [])]
    assert bodies == ["6 regions fell"]
    assert aws.sqs().receive_message(QueueUrl=resources.inbox_url).get("Messages", []) == []
