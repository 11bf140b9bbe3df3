"""A call the credentials may not make reads "denied" and names the IAM action, never that something is missing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.failures import one_line
from gas_alerts.settings import Settings
from gas_cli.app import app
from gas_local.provision import provision
from tests.support.dynamo_faults import DynamoFaults

AWS_MESSAGE = "User: arn:aws:iam::1:user/ops is not authorized to perform: dynamodb:Query on resource: table"


@pytest.mark.parametrize(
    ("operation", "message", "action"),
    [
        ("DescribeTable", "", "dynamodb:DescribeTable"),
        ("GetRecords", "", "dynamodb:GetRecords"),
        ("PublishBatch", "", "sns:Publish"),
        ("GetMetricData", "", "cloudwatch:GetMetricData"),
        ("ListEventSourceMappings", "", "lambda:ListEventSourceMappings"),
        ("Query", AWS_MESSAGE, "dynamodb:Query"),
    ],
)
def test_a_refusal_names_the_action_aws_checked(operation: str, message: str, action: str) -> None:
    """The action comes from AWS's message when it says, else from the operation's service and IAM's naming."""
    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)

    line = one_line(error, "gas-alerts-prices") or ""

    assert line.startswith(f"denied: the credentials in use may not call {action} (AccessDeniedException)")
    assert "operator_policy_arn" in line


@pytest.mark.parametrize("command", ["redrive", "status"])
def test_an_operator_command_refused_describe_table_or_query_says_denied_not_missing(
    settings: Settings, faults: DynamoFaults, command: str
) -> None:
    """Redrive (DescribeTable) and status (Query) refused: one line saying denied and the action, exit 1."""
    provision(settings)
    operation = "DescribeTable" if command == "redrive" else "Query"
    faults.fail(operation, "AccessDeniedException")

    result = CliRunner().invoke(app, [command], env=settings.to_environment())

    assert result.exit_code == 1
    assert f"error: denied: the credentials in use may not call dynamodb:{operation}" in result.stderr
    assert "missing" not in result.stderr


def test_a_refused_list_of_event_source_mappings_is_not_read_as_none_deployed(settings: Settings) -> None:
    """Redrive must not fall back to the contract's mapping settings when the Lambda API refuses it: it says denied."""
    provision(settings)
    events = aws.lambda_client().meta.events

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": ""}}, "ListEventSourceMappings")

    events.register("before-call.lambda.ListEventSourceMappings", refuse, unique_id="refuse")
    try:
        result = CliRunner().invoke(app, ["redrive"], env=settings.to_environment())
    finally:
        events.unregister("before-call.lambda.ListEventSourceMappings", unique_id="refuse")

    assert result.exit_code == 1
    assert "denied: the credentials in use may not call lambda:ListEventSourceMappings" in result.stderr


def test_a_queue_sqs_will_not_name_is_missing_or_refused(settings: Settings) -> None:
    """SQS answers a refused GetQueueUrl as a queue that does not exist: the line says both, and where to look."""
    provision(settings)
    env = {**settings.to_environment(), "GAS_ALERTS_DLQ": "no-such-queue"}

    result = CliRunner().invoke(app, ["redrive"], env=env)

    assert result.exit_code == 1
    assert "the queue no-such-queue is missing, or the credentials in use may not call sqs:GetQueueUrl" in result.stderr


def test_the_sweep_command_runs_without_a_region_in_the_environment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With neither AWS_REGION nor AWS_DEFAULT_REGION set, the sweep takes the default region, as status does."""
    provision(settings)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)

    result = CliRunner().invoke(app, ["sweep"], env=settings.to_environment())

    assert result.exit_code == 0, result.output
    assert "Sent 0" in result.output
