"""A call the credentials may not make reads "denied" and names the IAM action, never that something is missing."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

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
