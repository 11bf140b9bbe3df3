"""Terraform and `gas-alerts local provision` make the same AWS side: table, stream, topics, queues and filters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
import pytest

from gas_alerts.filter_policy import SubscriberFilter
from gas_alerts.settings import Settings
from gas_local.environment import local_aws_environment, patched_environment
from gas_local.provision import Inbox, LocalResources, ensure_inboxes, provision
from gas_local.terraform import Applied, apply_local_stack, local_variables
from tests.support.names import unique_settings
from tests.support.terraform import BACKEND_FILE, Tools, operator_fork, runbook_backend_block, terraform_subscriber

pytestmark = pytest.mark.slow(seconds=45)

REGION = "us-east-1"
ALERTS = SubscriberFilter(
    regions=("new_york_city", "albany"), min_drop_cents=Decimal(5), max_price=Decimal("3.25"), min_low_weeks=4
)
DIGEST = SubscriberFilter(digest=True, min_regions_fallen=5, min_largest_drop_cents=Decimal(10))
ALERT_EMAIL = "alerts@example.com"
DIGEST_EMAIL = "digest@example.com"
# The names the product uses when no GAS_ALERTS_* variable is set, which Terraform's defaults give too.
DEFAULTS = Settings.from_environment({})


@dataclass(frozen=True)
class Sides:
    """The same choice provisioned twice: by Terraform on one moto server, by provision() on another."""

    terraform: Applied
    terraform_endpoint: str
    terraform_inboxes: tuple[Inbox, Inbox]
    settings: Settings
    provisioned: LocalResources
    provision_endpoint: str


@pytest.fixture(scope="module")
def sides(
    terraform_tools: Tools, moto_process: str, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Sides:
    """The runbook's fork of infra/ applied as `make up` applies it, plus two subscribers; provision() on moto.

    The fork holds the S3 backend the runbook has the operator commit; the local apply must work with it.
    """
    subscribers = [terraform_subscriber(ALERT_EMAIL, ALERTS), terraform_subscriber(DIGEST_EMAIL, DIGEST)]
    applied = apply_local_stack(
        tmp_path_factory.mktemp("parity"),
        moto_process,
        local_variables("gas-alerts", subscribers),
        binary=terraform_tools.terraform,
        mirror=terraform_tools.mirror,
        source=operator_fork(tmp_path_factory.mktemp("fork")),
    )
    # `make up` subscribes the local inboxes to Terraform's topics; here with the same choice as the subscribers.
    with patched_environment(local_aws_environment(moto_process)):
        inboxes = ensure_inboxes(
            DEFAULTS,
            topic_arn=applied.outputs["topic_arn"],
            digest_topic_arn=applied.outputs["digest_topic_arn"],
            policy=ALERTS.policy(),
            digest_policy=DIGEST.policy(),
        )
    settings = unique_settings("parity-", tmp_path_factory.mktemp("outbox"), tmp_path_factory.mktemp("state"))
    provisioned = provision(settings, ALERTS.policy(), DIGEST.policy())
    return Sides(applied, moto_process, inboxes, settings, provisioned, moto_endpoint)


def client(service: str, endpoint: str) -> Any:
    """A boto3 client for one of the two moto servers."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)  # type: ignore[call-overload]


def table_shape(endpoint: str, name: str) -> dict[str, Any]:
    """What a table's definition says about its keys, billing and stream."""
    table = client("dynamodb", endpoint).describe_table(TableName=name)["Table"]
    return {
        "keys": table["KeySchema"],
        "attributes": sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "billing": table["BillingModeSummary"]["BillingMode"],
        "stream": table["StreamSpecification"],
    }


def policy_of(endpoint: str, subscription_arn: str) -> dict[str, Any]:
    """A subscription's filter policy ({} when it has none)."""
    attributes = client("sns", endpoint).get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
    policy: dict[str, Any] = json.loads(attributes.get("FilterPolicy") or "{}")
    return policy


def subscription_arns(endpoint: str, topic_arn: str) -> dict[str, str]:
    """Each subscription of a topic: its endpoint (an email address or a queue ARN) to its ARN."""
    listed = client("sns", endpoint).list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return {subscription["Endpoint"]: subscription["SubscriptionArn"] for subscription in listed}


def test_the_local_apply_works_in_the_runbooks_fork_with_its_s3_backend(sides: Sides) -> None:
    """The copy `make up` applied holds the runbook's backend.tf as written, and the apply went through with it."""
    copied = sides.terraform.terraform.workdir
    assert (copied / BACKEND_FILE).read_text(encoding="utf-8") == runbook_backend_block()
    assert 'backend "s3"' in runbook_backend_block()
    assert sides.terraform.resources > 20
    assert sides.terraform.outputs["table_name"] == DEFAULTS.table_name


def test_tables_have_the_same_keys_billing_and_stream(sides: Sides) -> None:
    """Both tables have the contract's key schema, on-demand billing and a NEW_IMAGE stream."""
    made_by_terraform = table_shape(sides.terraform_endpoint, sides.terraform.outputs["table_name"])
    made_by_provision = table_shape(sides.provision_endpoint, sides.provisioned.table_name)
    assert made_by_terraform == made_by_provision
    assert made_by_terraform["stream"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def test_both_make_the_alert_and_the_digest_topic_under_the_settings_names(sides: Sides) -> None:
    """Terraform's topics carry the default names of gas_alerts/settings.py, as provision() names its topics."""
    outputs = sides.terraform.outputs
    assert (outputs["topic_name"], outputs["digest_topic_name"]) == (DEFAULTS.topic_name, DEFAULTS.digest_topic_name)
    terraform_topics = {t["TopicArn"] for t in client("sns", sides.terraform_endpoint).list_topics()["Topics"]}
    assert {outputs["topic_arn"], outputs["digest_topic_arn"]} <= terraform_topics
    provision_topics = {t["TopicArn"] for t in client("sns", sides.provision_endpoint).list_topics()["Topics"]}
    assert {sides.provisioned.topic_arn, sides.provisioned.digest_topic_arn} <= provision_topics
    named = (sides.provisioned.topic_arn.rsplit(":", 1)[-1], sides.provisioned.digest_topic_arn.rsplit(":", 1)[-1])
    assert named == (sides.settings.topic_name, sides.settings.digest_topic_name)


def test_the_inbox_policies_are_the_terraform_subscribers_policies(sides: Sides) -> None:
    """For the same choice, provision()'s inboxes and Terraform's email subscriptions carry one and the same policy."""
    outputs = sides.terraform.outputs
    alert_subscriptions = subscription_arns(sides.terraform_endpoint, outputs["topic_arn"])
    digest_subscriptions = subscription_arns(sides.terraform_endpoint, outputs["digest_topic_arn"])
    by_terraform = (
        policy_of(sides.terraform_endpoint, alert_subscriptions[ALERT_EMAIL]),
        policy_of(sides.terraform_endpoint, digest_subscriptions[DIGEST_EMAIL]),
    )
    by_provision = (
        policy_of(sides.provision_endpoint, sides.provisioned.inbox_subscription_arn),
        policy_of(sides.provision_endpoint, sides.provisioned.digest_inbox_subscription_arn),
    )
    assert by_terraform == by_provision == (ALERTS.policy(), DIGEST.policy())
    assert DIGEST_EMAIL not in alert_subscriptions
    assert ALERT_EMAIL not in digest_subscriptions


def test_make_up_subscribes_its_inboxes_to_the_terraform_topics(sides: Sides) -> None:
    """The inboxes `make up` adds to Terraform's topics are on the right topic, with the policy they were given."""
    alerts, digest = sides.terraform_inboxes
    outputs = sides.terraform.outputs
    assert (alerts.topic_arn, digest.topic_arn) == (outputs["topic_arn"], outputs["digest_topic_arn"])
    for inbox, expected in ((alerts, ALERTS.policy()), (digest, DIGEST.policy())):
        assert inbox.subscription_arn in subscription_arns(sides.terraform_endpoint, inbox.topic_arn).values()
        assert policy_of(sides.terraform_endpoint, inbox.subscription_arn) == expected


def test_both_make_the_dead_letter_queue(sides: Sides) -> None:
    """Each side has its dead-letter queue, Terraform's under the settings' default name."""
    assert sides.terraform.outputs["dead_letter_queue_name"] == DEFAULTS.dead_letter_queue
    terraform_queue = client("sqs", sides.terraform_endpoint).get_queue_url(QueueName=DEFAULTS.dead_letter_queue)
    assert terraform_queue["QueueUrl"] == sides.terraform.outputs["dead_letter_queue_url"]
    provisioned = client("sqs", sides.provision_endpoint).get_queue_url(QueueName=sides.settings.dead_letter_queue)
    assert provisioned["QueueUrl"] == sides.provisioned.dead_letter_url
