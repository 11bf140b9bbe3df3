"""`gas-alerts local deliver`: run the stream through the real handler, then collect the inbox into the outbox."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_alerts import aws
from gas_alerts.filter_policy import check_policy
from gas_alerts.settings import Settings
from gas_local.inbox import RateWatch, deliver_inbox
from gas_local.lambda_runtime import PackagedFunction
from gas_local.outbox import DeliveredAlert
from gas_local.package import DEFAULT_OUTPUT
from gas_local.stream_runner import Checkpoint, DeliveryStats, StreamRunner, sqs_dead_letter
from gas_ops.mapping import MappingSettings, deployed_mapping, sqs_destination
from gas_ops.publisher import publisher_environment, publisher_handler
from gas_ops.resources import NotProvisionedError
from gas_publisher.contract import FUNCTION_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

CHECKPOINT_FILE = "stream-checkpoints.json"
logger = logging.getLogger(__name__)


@dataclass
class Inbox:
    """A local queue subscribed to a topic, standing in for one email subscription, and its rate watch."""

    url: str
    watch: RateWatch


@dataclass
class LocalDelivery:
    """The stream runner plus the inboxes: everything between a table write and an email."""

    runner: StreamRunner
    sqs: SQSClient
    inboxes: list[Inbox]
    outbox: Path
    # Which way the stream reaches the publisher, in words for the terminal.
    how: str = ""

    @property
    def inbox_url(self) -> str:
        """The alert topic's inbox."""
        return self.inboxes[0].url

    @classmethod
    def connect(
        cls,
        settings: Settings,
        *,
        log_level: str = "INFO",
        package: Path = DEFAULT_OUTPUT,
        overrides: Mapping[str, Any] | None = None,
    ) -> LocalDelivery:
        """Find the provisioned resources on the configured endpoint and wire the runner to them.

        When the table's stream has a deployed event source mapping (Terraform made the stack), the runner takes
        its settings and runs its function's own package in a fresh process; otherwise it calls the handler
        in this process with the contract's mapping defaults. `overrides` replaces settings either way.
        """
        sqs = aws.sqs()
        try:
            stream_arn = aws.dynamodb().describe_table(TableName=settings.table_name)["Table"]["LatestStreamArn"]
            queues = [sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in _inbox_names(settings)]
        except (ClientError, KeyError) as error:
            raise NotProvisionedError(
                f"local resources are missing ({type(error).__name__}); run `gas-alerts local provision` first"
            ) from error
        mapping = deployed_mapping(aws.lambda_client(), stream_arn)
        if mapping is not None:
            mapped = replace(MappingSettings.from_api(mapping), **(overrides or {}))
            configuration = aws.lambda_client().get_function(FunctionName=mapped.function_arn)["Configuration"]
            handler: Any = PackagedFunction(package, configuration, os.environ.get("AWS_ENDPOINT_URL"))
            timeout = float(configuration.get("Timeout", FUNCTION_TIMEOUT_SECONDS))
            dead_letter_url = sqs_destination(mapped.on_failure_arn, lambda name: _queue_url(sqs, name))
            how = (
                f"through the deployed event source mapping {mapping.get('UUID')}: the function "
                f"{configuration.get('FunctionName')} runs its own package {package.name} in a fresh process"
            )
        else:
            mapped = replace(MappingSettings(), **(overrides or {}))
            handler = publisher_handler(publisher_environment(settings, log_level))
            timeout = FUNCTION_TIMEOUT_SECONDS
            dead_letter_url = _queue_url(sqs, settings.dead_letter_queue)
            how = "no event source mapping is deployed: the handler runs in this process with the contract's settings"
        runner = StreamRunner(
            streams=aws.dynamodb_streams(),
            stream_arn=stream_arn,
            handler=handler,
            checkpoint=Checkpoint(settings.state_dir / CHECKPOINT_FILE),
            pattern=mapped.patterns[0],
            extra_patterns=mapped.patterns[1:],
            batch_size=mapped.batch_size,
            max_retry_attempts=mapped.max_retry_attempts,
            bisect_on_error=mapped.bisect_on_error,
            report_batch_item_failures=mapped.report_batch_item_failures,
            starting_position=mapped.starting_position,
            dead_letter=sqs_dead_letter(sqs, dead_letter_url),
            function_timeout_seconds=timeout,
            function_arn=mapped.function_arn,
            maximum_record_age_seconds=mapped.maximum_record_age_seconds,
        )
        subscriptions = _subscriptions_by_endpoint()
        inboxes = []
        for name, url in zip(_inbox_names(settings), queues, strict=True):
            subscription = f"the subscription of queue {name}"
            queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            _check_filter_policies(subscriptions.get(queue_arn, []), subscription)
            inboxes.append(Inbox(url, RateWatch(subscription)))
        return cls(runner, sqs, inboxes, settings.outbox, how)

    def deliver_once(
        self, stats: DeliveryStats | None = None
    ) -> tuple[DeliveryStats, list[tuple[DeliveredAlert, Path]]]:
        """Process everything new in the stream, then write each message that reached an inbox to the outbox.

        The pass's counts are added to `stats` (a running total across polls) or to fresh counts. Raises
        SubscriptionRateError, after writing the emails, if an inbox received messages faster than SNS lets an
        email subscription receive them: on AWS that subscription would have been deactivated.
        """
        if stats is None:
            stats = DeliveryStats()
        self.runner.poll(stats)
        received = [
            (inbox, deliver_inbox(self.sqs, inbox.url, lambda alert: (alert, alert.write_to(self.outbox))))
            for inbox in self.inboxes
        ]
        for inbox, emails in received:
            inbox.watch.record([alert.received_at_ms for alert, _ in emails])
        return stats, [email for _, emails in received for email in emails]


def _subscriptions_by_endpoint() -> dict[str, list[str]]:
    """Every SNS subscription's ARN, by the endpoint it delivers to (one pass over the account's list)."""
    subscriptions: dict[str, list[str]] = {}
    for page in aws.sns().get_paginator("list_subscriptions").paginate():
        for entry in page.get("Subscriptions", []):
            subscriptions.setdefault(entry.get("Endpoint", ""), []).append(entry["SubscriptionArn"])
    return subscriptions


def _check_filter_policies(subscription_arns: list[str], subscription: str) -> None:
    """Raise FilterPolicyError, naming the subscription, if SNS would refuse a policy moto accepted."""
    for arn in subscription_arns:
        attributes = aws.sns().get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        check_policy(json.loads(attributes.get("FilterPolicy") or "{}"), subscriber=subscription)


def _queue_url(sqs: SQSClient, name: str) -> str:
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        raise NotProvisionedError(f"queue {name} not found; run `gas-alerts local provision` first") from error


def _inbox_names(settings: Settings) -> list[str]:
    return [settings.inbox_queue, settings.digest_inbox_queue]
