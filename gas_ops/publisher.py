"""The publisher's handler run in this process, with the environment Terraform gives the deployed function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_ops.resources import topic_arns
from gas_publisher.contract import ENV_DIGEST_TOPIC_ARN, ENV_LOG_LEVEL, ENV_TABLE_NAME, ENV_TOPIC_ARN
from gas_publisher.handler import handle


def lambda_environment(
    table_name: str, topic_arn: str, digest_topic_arn: str, log_level: str = "INFO"
) -> dict[str, str]:
    """The environment Terraform gives the publisher function."""
    return {
        ENV_TABLE_NAME: table_name,
        ENV_TOPIC_ARN: topic_arn,
        ENV_DIGEST_TOPIC_ARN: digest_topic_arn,
        ENV_LOG_LEVEL: log_level,
    }


def publisher_environment(settings: Settings, log_level: str = "INFO") -> dict[str, str]:
    """The publisher's environment as Terraform sets it, from the topics found by name."""
    topic_arn, digest_topic_arn = topic_arns(settings)
    return lambda_environment(settings.table_name, topic_arn, digest_topic_arn, log_level)


def publisher_handler(environment: Mapping[str, str]) -> Any:
    """The Lambda entry point's work, with the function's environment (threads may invoke it at the same time).

    As the Lambda runtime does, AWS_REGION is set: here to the region this process's clients use.
    """
    with_region = {"AWS_REGION": aws.region(), **environment}

    def invoke(event: dict[str, Any], context: Any) -> Any:
        return handle(event, context, with_region)

    return invoke
