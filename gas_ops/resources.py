"""The deployed resources an operator command needs, found by name: a refusal reads "denied", an absence "missing"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from gas_alerts import aws
from gas_alerts.failures import MISSING, PermanentError, error_code
from gas_alerts.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class NotProvisionedError(PermanentError):
    """A resource the command needs does not exist on the endpoint."""


def find_topic_arn(client: SNSClient, topic_name: str) -> str | None:
    """The ARN of the topic with this name, if it exists."""
    for page in client.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == topic_name:
                return topic["TopicArn"]
    return None


def table_stream_arn(settings: Settings) -> str:
    """The table's stream; NotProvisionedError when AWS says the table is not there (a refusal is raised as is)."""
    try:
        table = aws.dynamodb().describe_table(TableName=settings.table_name)["Table"]
    except ClientError as error:
        if error_code(error) not in MISSING:
            raise
        raise NotProvisionedError(
            f"the table {settings.table_name} is missing ({error_code(error)}); check GAS_ALERTS_TABLE"
        ) from error
    stream_arn = table.get("LatestStreamArn")
    if not stream_arn:
        raise NotProvisionedError(f"the table {settings.table_name} has no stream; apply infra/ to make it with one")
    return stream_arn


def queue_url(name: str, variable: str) -> str:
    """The URL of a queue; NotProvisionedError naming the variable when AWS says it is not there."""
    try:
        return aws.sqs().get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        if error_code(error) not in MISSING:
            raise
        # SQS answers a refused GetQueueUrl as it answers a queue that does not exist.
        raise NotProvisionedError(
            f"the queue {name} is missing, or the credentials in use may not call sqs:GetQueueUrl on it "
            f"({error_code(error)}); check {variable}, and the operator policy (operator_policy_arn)"
        ) from error


def topic_arns(settings: Settings) -> tuple[str, str]:
    """The alert and digest topics' ARNs; NotProvisionedError naming the one not found."""
    sns = aws.sns()
    topic_arn = settings.topic_arn or find_topic_arn(sns, settings.topic_name)
    digest_topic_arn = find_topic_arn(sns, settings.digest_topic_name)
    if not topic_arn or not digest_topic_arn:
        missing = settings.topic_name if not topic_arn else settings.digest_topic_name
        raise NotProvisionedError(f"topic {missing} not found; check GAS_ALERTS_TOPIC and GAS_ALERTS_DIGEST_TOPIC")
    return topic_arn, digest_topic_arn
