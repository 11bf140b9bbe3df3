"""Subscriptions as SNS lists them (who, confirmed or pending, which filter) and as Terraform's state holds them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gas_alerts.terraform_state import managed_resources

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


# ---- what Terraform's state declares, against what SNS lists --------------------------------------------------------

SUBSCRIPTION_TYPE = "aws_sns_topic_subscription"


@dataclass(frozen=True)
class Declared:
    """A subscription Terraform's state holds: its resource address, topic, protocol and endpoint."""

    address: str
    topic_arn: str
    protocol: str
    endpoint: str


def declared_in(shown: Mapping[str, Any]) -> list[Declared]:
    """Every SNS subscription a `terraform show -json` document holds, in every module, in the document's order."""
    return [
        Declared(resource["address"], values["topic_arn"], values["protocol"], values["endpoint"])
        for resource in managed_resources(shown)
        if resource.get("type") == SUBSCRIPTION_TYPE
        for values in [resource["values"]]
    ]


def deleted_by_sns(declared: Sequence[Declared], listed: Mapping[str, Sequence[Subscription]]) -> list[Declared]:
    """The declared subscriptions their topic no longer lists, confirmed or pending (emails compared without case).

    SNS deletes an email subscription still unconfirmed 48 hours after it was made, and one suspended for going
    over 10 emails a second that is not confirmed again within 48 hours; Terraform's state keeps it until the next
    refresh.
    """
    present = {(topic, item.protocol, item.endpoint.casefold()) for topic, items in listed.items() for item in items}
    return [item for item in declared if (item.topic_arn, item.protocol, item.endpoint.casefold()) not in present]


def missing_from_sns(sns: SNSClient, shown: Mapping[str, Any]) -> list[Declared]:
    """The subscriptions Terraform's state holds that SNS no longer lists, topic by topic."""
    declared = declared_in(shown)
    topics = dict.fromkeys(item.topic_arn for item in declared)
    return deleted_by_sns(declared, {topic: subscriptions_of(sns, topic) for topic in topics})
