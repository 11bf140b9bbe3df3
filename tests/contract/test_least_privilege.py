"""Least privilege, proven by the calls: what each principal calls is what its rendered policy allows, no more.

Every AWS call each principal makes must be allowed by its policy as Terraform rendered it, and every action a policy
grants must be needed by some call. moto enforces no IAM, so a policy that would deny a real call passes every other
test (the flow's policy once denied the late partition's write). Here the flow's steps, the publisher (the stream
runner plays the mapping, which reads with the function's role, and the scheduled sweep) and the operator's
commands (status, sweep, redrive, send-test, subscribers) run against the stack Terraform applied to moto; a hook on
botocore records each call with its action, resource and condition keys (tests/support/iam.py) and evaluates it
against the JSON of the stack's aws_iam_policy_document data sources, read from the applied state.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_cli.app import app
from gas_local.delivery import LocalDelivery
from gas_local.environment import local_aws_environment, patched_environment
from gas_local.provision import ensure_inboxes
from gas_local.socrata import local_socrata
from gas_local.stream_runner import DeliveryStats
from gas_local.terraform import PACKAGE_IN_COPY
from gas_ops.publisher import publisher_handler
from gas_ops.stream import InvocationContext
from gas_publisher.contract import LATE_PARTITION, PRICE_PARTITION
from gas_publisher.sweep import SweepRequest
from tests.support.data import api_row
from tests.support.iam import Call, CallRecorder, Resources, denied, statements, unused
from tests.support.steps import backfill, store_this_weeks_fall, weekly_check
from tests.support.terraform import REGION, Stack

pytestmark = pytest.mark.slow(seconds=20)

FLOW, PUBLISHER, OPERATOR = "flow", "publisher", "operator"
PRINCIPALS = (FLOW, PUBLISHER, OPERATOR)
# Granted, and needed on AWS, but never called by this repository's code: each with its reason.
NOT_CALLED_BY_OUR_CODE = {
    PUBLISHER: {
        "dynamodb:ListStreams": "Lambda's event source mapping lists the table's streams itself; the local runner is "
        "given the stream's ARN",
        "logs:CreateLogStream": "the Lambda runtime opens the function's log stream with the function's role",
        "logs:PutLogEvents": "the Lambda runtime writes the handler's log lines with the function's role",
    },
    FLOW: {},
    OPERATOR: {},
}
# Every kind of call each principal's code makes (tests/contract/test_infra_iam.py finds them in the code): the
# scenarios below must make each, or a policy could lack one and no call here would show it.
EXPECTED_OPERATIONS = {
    FLOW: {"Query", "PutItem", "TransactWriteItems", "BatchGetItem", "UpdateItem", "PutMetricData"},
    PUBLISHER: {
        "DescribeStream",
        "GetShardIterator",
        "GetRecords",
        "BatchGetItem",
        "UpdateItem",
        "PublishBatch",
        "TransactWriteItems",
        "SendMessage",
        "Query",
        "PutMetricData",
    },
    OPERATOR: {
        # status
        "GetMetricData",
        "Query",
        "BatchGetItem",
        "GetQueueUrl",
        "GetQueueAttributes",
        "ListTopics",
        "ListSubscriptionsByTopic",
        "GetSubscriptionAttributes",
        "DescribeAlarms",
        # sweep and redrive, which publish through the ledger as the publisher does
        "UpdateItem",
        "TransactWriteItems",
        "PublishBatch",
        "PutMetricData",
        "DescribeTable",
        "DescribeStream",
        "ListEventSourceMappings",
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetShardIterator",
        "GetRecords",
        # send-test
        "Publish",
    },
}
STEADY = {"new_york_state": "3.50", "albany": "3.50", "nassau": "3.52", "utica": "3.48", "buffalo": "3.46"}
# Weeks after those the apply test's check stores on the same stack (tests/conftest.py runs this file after it).
W0, W1, W2, W3 = (date(2026, 10, 5) + timedelta(weeks=n) for n in range(4))


@dataclass(frozen=True)
class Recorded:
    """Each principal's calls and its policy as Terraform rendered it."""

    calls: Mapping[str, list[Call]]
    operations: Mapping[str, set[str]]
    policies: Mapping[str, dict[str, Any]]


def stack_resources(stack: Stack) -> Resources:
    """The ARNs of the applied stack, read from moto."""
    client = boto3.client("dynamodb", endpoint_url=stack.endpoint, region_name=REGION)
    table = client.describe_table(TableName=stack.outputs["table_name"])["Table"]
    sns = boto3.client("sns", endpoint_url=stack.endpoint, region_name=REGION)
    kms = boto3.client("kms", endpoint_url=stack.endpoint, region_name=REGION)
    topic_keys = {}
    for name in ("topic_arn", "digest_topic_arn"):
        key = sns.get_topic_attributes(TopicArn=stack.outputs[name])["Attributes"]["KmsMasterKeyId"]
        topic_keys[stack.outputs[name]] = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    sqs = boto3.client("sqs", endpoint_url=stack.endpoint, region_name=REGION)
    queue = stack.outputs["dead_letter_queue_url"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Resources(
        region=REGION,
        tables={table["TableName"]: table["TableArn"]},
        table_keys={table["TableName"]: table["SSEDescription"]["KMSMasterKeyArn"]},
        streams={table["TableName"]: table["LatestStreamArn"]},
        topic_keys=topic_keys,
        queues={queue: queue_arn},
    )


def settings_for(stack: Stack, folder: Path) -> Settings:
    """The product's settings for the stack: every name from `terraform output -json`."""
    outputs = stack.outputs
    return Settings(
        operator_topic_name=outputs["prefect_environment"]["GAS_ALERTS_OPERATOR_TOPIC"],
        table_name=outputs["table_name"],
        topic_name=outputs["topic_name"],
        topic_arn=outputs["topic_arn"],
        inbox_queue="least-privilege-inbox",
        digest_topic_name=outputs["digest_topic_name"],
        digest_inbox_queue="least-privilege-digest-inbox",
        dead_letter_queue=outputs["dead_letter_queue_name"],
        outbox=folder / "outbox",
        state_dir=folder / "state",
        app_token=None,
    )


def run_the_flow(recorder: CallRecorder, table: str) -> None:
    """Every kind of write the flow makes: a baseline, two new weeks, a late region with a revision, a backfill."""
    rows = [
        api_row(W0, **STEADY),
        api_row(W1, **{**STEADY, "albany": "3.45", "utica": None}),
        api_row(W2, **{**STEADY, "albany": "3.44"}),
        api_row(W3, **{**STEADY, "nassau": "3.40"}),
    ]
    with local_socrata(rows) as source, recorder.acting_as(FLOW):
        source.reveal_until(W0)
        weekly_check(source.url, table)  # one week: a baseline, or a lone new week; one conditional PutItem
        source.reveal_until(W3)
        # Two new weeks in one transaction, whose response is lost: the retry fails its conditions and the run
        # reads its own write back (BatchGetItem).
        recorder.lose_response.add("TransactWriteItems")
        weekly_check(source.url, table)
        source.rows[1] = api_row(W1, **{**STEADY, "albany": "3.45", "utica": "3.40"})
        weekly_check(source.url, table)  # Utica filled in late: a late item and the week's update, in one transaction
    # A week later: the weeks before W0, and a revision of W0, history by now.
    older = [api_row(W0 - timedelta(weeks=n), **STEADY) for n in range(6, 0, -1)]
    revised = api_row(W0, **{**STEADY, "albany": "3.51"})
    later = api_row(W3 + timedelta(weeks=1), **STEADY)
    filled = api_row(W1, **{**STEADY, "albany": "3.45", "utica": "3.40"})
    with local_socrata([*older, revised, filled, *rows[2:], later]) as history, recorder.acting_as(FLOW):
        backfill(history.url, table)  # the paged Query, a conditional PutItem per week, an UpdateItem


def run_the_publisher(recorder: CallRecorder, stack: Stack, settings: Settings) -> None:
    """The mapping's reads and the handler's calls, with one failed publish that releases and dead-letters."""
    delivery = LocalDelivery.connect(settings, package=stack.terraform.workdir / PACKAGE_IN_COPY)
    configuration = aws.lambda_client().get_function(FunctionName=stack.outputs["publisher_function_name"])
    # The deployed code, run in this process so that its calls can be recorded (the zip holds the same files).
    delivery.runner.handler = publisher_handler(configuration["Configuration"]["Environment"]["Variables"])
    delivery.runner.max_retry_attempts = 0
    recorder.fail_next["PublishBatch"] = "InternalError"
    with recorder.acting_as(PUBLISHER):
        delivery.runner.poll(DeliveryStats())
        # The hourly schedule's invocation: it reads the window and puts UnsentMessages (this week has nothing yet,
        # so the dead-lettered batch is left for the operator's redrive).
        delivery.runner.handler(SweepRequest(older_than_seconds=0, weeks=1).to_event(), InvocationContext())


def run_the_operator(recorder: CallRecorder, settings: Settings) -> None:
    """Every operator command: status, a sweep that sends a fall, redrive with a kept and a completed pointer, and more.

    The publisher's run left a dead-lettered batch; a message that is no pointer is kept (shown again at once).
    """
    # This week's fall: the sweep claims and marks one week (UpdateItem); redrive's batch spans weeks (transactions).
    store_this_weeks_fall(settings.table_name, datetime.now(UTC) - timedelta(hours=2))
    queue = aws.sqs().get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    aws.sqs().send_message(QueueUrl=queue, MessageBody="not a pointer")
    environment = settings.to_environment()
    runner = CliRunner()
    with recorder.acting_as(OPERATOR):
        for command in (["status"], ["redrive"], ["sweep"], ["send-test"], ["subscribers"]):
            result = runner.invoke(app, command, env=environment)
            assert result.exit_code in (0, 1), f"{command}: {result.output}"
            assert "denied" not in result.output


@pytest.fixture(scope="module")
def recorded(applied_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The calls of both principals on the applied stack, and their rendered policies."""
    stack = applied_stack
    recorder = CallRecorder(stack_resources(stack))
    settings = settings_for(stack, tmp_path_factory.mktemp("least-privilege"))
    with patched_environment(local_aws_environment(stack.endpoint)):
        inboxes = ensure_inboxes(
            settings, topic_arn=stack.outputs["topic_arn"], digest_topic_arn=stack.outputs["digest_topic_arn"]
        )
        try:
            run_the_flow(recorder, settings.table_name)
            run_the_publisher(recorder, stack, settings)
            run_the_operator(recorder, settings)
        finally:
            # The inboxes stand in for email subscribers; they are not Terraform's, and destroy must find none.
            for inbox in inboxes:
                aws.sqs().delete_queue(QueueUrl=inbox.url)
    return Recorded(
        calls={who: [call for call in recorder.calls if call.principal == who] for who in PRINCIPALS},
        operations={who: {op for principal, _, op in recorder.operations if principal == who} for who in PRINCIPALS},
        policies={
            FLOW: stack.policy_document("", "flow_runner"),
            PUBLISHER: stack.policy_document("module.publisher", "permissions"),
            OPERATOR: stack.policy_document("", "operator"),
        },
    )


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_the_scenarios_make_every_kind_of_call_the_code_makes(recorded: Recorded, principal: str) -> None:
    """Each principal made each kind of call its code makes, so every one of them is evaluated below."""
    assert recorded.operations[principal] == EXPECTED_OPERATIONS[principal]


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_call_is_allowed_by_the_rendered_policy(recorded: Recorded, principal: str) -> None:
    """No call the principal made would be denied on AWS: action, resource and condition keys all match."""
    refused = denied(recorded.policies[principal], recorded.calls[principal])
    assert [call.describe() for call in refused] == []


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_granted_action_is_needed_by_a_call(recorded: Recorded, principal: str) -> None:
    """Each action the policy grants is needed by a recorded call, or named above with why our code never calls it."""
    assert unused(recorded.policies[principal], recorded.calls[principal]) == set(NOT_CALLED_BY_OUR_CODE[principal])


def test_the_flow_writes_both_the_price_and_the_late_partition_and_never_the_ledger(recorded: Recorded) -> None:
    """The flow's item calls touch exactly the price and late partitions: the late item goes with the week's update."""
    keys = {key for call in recorded.calls[FLOW] for key in call.context.get("dynamodb:LeadingKeys", ())}
    assert keys == {PRICE_PARTITION, LATE_PARTITION}


def without_action(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """The policy with one action taken out of every statement that grants it."""
    changed = copy.deepcopy(policy)
    for statement in statements(changed):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [name for name in actions if name != action] or ["none:Nothing"]
    return changed


def with_action(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """The policy with one more action in its first statement."""
    changed = copy.deepcopy(policy)
    first = statements(changed)[0]
    actions = first["Action"] if isinstance(first["Action"], list) else [first["Action"]]
    first["Action"] = [*actions, action]
    return changed


@pytest.mark.parametrize(
    ("principal", "action"),
    [
        (FLOW, "dynamodb:UpdateItem"),
        (FLOW, "dynamodb:BatchGetItem"),
        (PUBLISHER, "sns:Publish"),
        (PUBLISHER, "sqs:SendMessage"),
        (PUBLISHER, "cloudwatch:PutMetricData"),
        (FLOW, "cloudwatch:PutMetricData"),
        (OPERATOR, "cloudwatch:DescribeAlarms"),
        (OPERATOR, "sqs:ChangeMessageVisibility"),
        (OPERATOR, "dynamodb:DescribeTable"),
    ],
)
def test_removing_an_action_the_code_uses_is_caught(recorded: Recorded, principal: str, action: str) -> None:
    """Take an action the code needs out of the policy: the calls that need it are denied."""
    refused = denied(without_action(recorded.policies[principal], action), recorded.calls[principal])
    assert refused
    assert {call.action for call in refused} == {action}


@pytest.mark.parametrize(("principal", "action"), [(FLOW, "dynamodb:DeleteItem"), (PUBLISHER, "sqs:ReceiveMessage")])
def test_granting_an_action_the_code_does_not_use_is_caught(recorded: Recorded, principal: str, action: str) -> None:
    """Add an action no call needs: it is reported as unused."""
    extra = unused(with_action(recorded.policies[principal], action), recorded.calls[principal])
    assert action in extra


def test_the_flow_policy_of_the_price_partition_alone_denies_the_late_item(recorded: Recorded) -> None:
    """The policy as it was (leading key wuxr-ni2i only) denies the late item written in the week's transaction."""
    policy = copy.deepcopy(recorded.policies[FLOW])
    for statement in statements(policy):
        for tests in statement.get("Condition", {}).values():
            if "dynamodb:LeadingKeys" in tests:
                tests["dynamodb:LeadingKeys"] = PRICE_PARTITION
    refused = denied(policy, recorded.calls[FLOW])
    assert {(call.action, call.context["dynamodb:LeadingKeys"]) for call in refused} == {
        ("dynamodb:PutItem", (LATE_PARTITION,))
    }
