"""Creates on the configured endpoint what Terraform creates (table with stream, topics, queues), and local inboxes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_publisher.contract import KEY_TYPE, PARTITION_KEY, SORT_KEY, STREAM_VIEW_TYPE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class LocalResources:
    """What `local provision` made or found."""

    table_name: str
    stream_arn: str
    topic_arn: str
    inbox_url: str
    inbox_subscription_arn: str
    dead_letter_url: str
    digest_topic_arn: str
    digest_inbox_url: str
    digest_inbox_subscription_arn: str


@dataclass(frozen=True)
class Inbox:
    """A local SQS queue subscribed to a topic, standing in for an email subscriber with the same filter policy."""

    topic_arn: str
    url: str
    subscription_arn: str


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments from the shared contract (the same keys and stream Terraform declares)."""
    return {
        "TableName": table_name,
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": KEY_TYPE},
            {"AttributeName": SORT_KEY, "AttributeType": KEY_TYPE},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
    }


def ensure_table(client: DynamoDBClient, table_name: str) -> str:
    """Create the table unless it exists; return its stream ARN."""
    try:
        description = client.describe_table(TableName=table_name)["Table"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        description = client.create_table(**table_definition(table_name))["TableDescription"]
        client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    stream_arn = description.get("LatestStreamArn")
    if not stream_arn:
        raise RuntimeError(f"table {table_name} exists but has no stream; it must be created with one")
    return stream_arn


def ensure_queue(client: SQSClient, name: str) -> tuple[str, str]:
    """Create the queue unless it exists; return its URL and ARN."""
    url = client.create_queue(QueueName=name)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def ensure_inbox_subscription(
    sns: SNSClient, sqs: SQSClient, *, topic_arn: str, queue_url: str, queue_arn: str, policy: dict[str, Any]
) -> str:
    """Subscribe the inbox queue to the topic with this filter policy, replacing an older policy."""
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(_allow_topic(queue_arn, topic_arn))})
    existing = [
        subscription["SubscriptionArn"]
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
        for subscription in page.get("Subscriptions", [])
        if subscription.get("Endpoint") == queue_arn
    ]
    subscription_arn = (
        existing[0]
        if existing
        else sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)[
            "SubscriptionArn"
        ]
    )
    # An empty JSON object removes the filter, so the inbox then receives every alert.
    sns.set_subscription_attributes(
        SubscriptionArn=subscription_arn, AttributeName="FilterPolicy", AttributeValue=json.dumps(policy)
    )
    return subscription_arn


def _allow_topic(queue_arn: str, topic_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }


def ensure_inbox(sns: SNSClient, sqs: SQSClient, *, topic_arn: str, queue: str, policy: dict[str, Any]) -> Inbox:
    """Create the inbox queue unless it exists and subscribe it to the topic with this filter policy."""
    url, arn = ensure_queue(sqs, queue)
    subscription_arn = ensure_inbox_subscription(
        sns, sqs, topic_arn=topic_arn, queue_url=url, queue_arn=arn, policy=policy
    )
    return Inbox(topic_arn, url, subscription_arn)


def ensure_inboxes(
    settings: Settings,
    *,
    topic_arn: str,
    digest_topic_arn: str,
    policy: dict[str, Any] | None = None,
    digest_policy: dict[str, Any] | None = None,
) -> tuple[Inbox, Inbox]:
    """Subscribe the alert inbox to the alert topic and the digest inbox to the digest topic, each with its policy."""
    sns, sqs = aws.sns(), aws.sqs()
    return (
        ensure_inbox(sns, sqs, topic_arn=topic_arn, queue=settings.inbox_queue, policy=policy or {}),
        ensure_inbox(
            sns, sqs, topic_arn=digest_topic_arn, queue=settings.digest_inbox_queue, policy=digest_policy or {}
        ),
    )


def provision(
    settings: Settings, policy: dict[str, Any] | None = None, digest_policy: dict[str, Any] | None = None
) -> LocalResources:
    """Create (or find) the table, both topics, the two inbox queues with their subscriptions, and the DLQ."""
    sns, sqs = aws.sns(), aws.sqs()
    stream_arn = ensure_table(aws.dynamodb(), settings.table_name)
    alerts, digest = ensure_inboxes(
        settings,
        # CreateTopic returns the existing topic's ARN when one has this name.
        topic_arn=sns.create_topic(Name=settings.topic_name)["TopicArn"],
        digest_topic_arn=sns.create_topic(Name=settings.digest_topic_name)["TopicArn"],
        policy=policy,
        digest_policy=digest_policy,
    )
    dead_letter_url, _ = ensure_queue(sqs, settings.dead_letter_queue)
    return LocalResources(
        table_name=settings.table_name,
        stream_arn=stream_arn,
        topic_arn=alerts.topic_arn,
        inbox_url=alerts.url,
        inbox_subscription_arn=alerts.subscription_arn,
        dead_letter_url=dead_letter_url,
        digest_topic_arn=digest.topic_arn,
        digest_inbox_url=digest.url,
        digest_inbox_subscription_arn=digest.subscription_arn,
    )
