"""The subscriptions of a topic as SNS lists them: who, confirmed or pending, and with which filter policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

CONFIRMED = "confirmed"
# An email subscription stays PendingConfirmation until its recipient clicks the link in the confirmation email;
# SNS delivers nothing to it before that, and lists it under that word instead of an ARN.
PENDING = "pending confirmation"
PENDING_ARN = "PendingConfirmation"


@dataclass(frozen=True)
class Subscription:
    """One subscription: where it delivers, whether it is confirmed, and its filter policy (None while pending)."""

    endpoint: str
    protocol: str
    status: str
    policy: dict[str, Any] | None
    arn: str


def subscriptions_of(sns: SNSClient, topic_arn: str) -> list[Subscription]:
    """Every subscription of the topic, through all pages, with its status and filter policy."""
    found = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for entry in page.get("Subscriptions", []):
            arn = entry.get("SubscriptionArn", "")
            endpoint, protocol = entry.get("Endpoint", ""), entry.get("Protocol", "")
            if arn == PENDING_ARN:
                found.append(Subscription(endpoint, protocol, PENDING, None, arn))
                continue
            attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
            status = PENDING if attributes.get("PendingConfirmation") == "true" else CONFIRMED
            policy = json.loads(attributes.get("FilterPolicy") or "{}")
            found.append(Subscription(endpoint, protocol, status, policy, arn))
    return found
