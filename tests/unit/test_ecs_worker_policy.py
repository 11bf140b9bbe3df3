"""The ECS worker's IAM policy allows every AWS call the installed prefect-aws worker makes, and nothing it does not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import prefect_aws

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "deployments" / "ecs-worker-policy.json"
TRUST = REPO / "deployments" / "ecs-tasks-trust-policy.json"
RUNBOOK = REPO / "docs" / "deploy.md"
PACKAGE = Path(prefect_aws.__file__).parent
# The worker submits and stops the flow runs' tasks; its observer follows their state changes, forwards a crashed
# run's logs and deregisters task definitions (started inside the worker by prefect-aws 0.7).
WORKER_MODULES = (PACKAGE / "workers" / "ecs_worker.py", PACKAGE / "observers" / "ecs.py")
SERVICE_OF_CLIENT = {"ecs_client": "ecs", "ec2_client": "ec2", "logs_client": "logs", "sqs_client": "sqs"}
CALL = re.compile(r"\b(?:self\.)?(ecs_client|ec2_client|logs_client|sqs_client)\.([a-z][a-z0-9_]*)\(")
# Authorised on the side of another call, never called by name: RunTask with tags needs ecs:TagResource, and a
# task definition's execution role or a run's task role needs iam:PassRole.
IMPLIED = frozenset({"ecs:TagResource", "iam:PassRole"})
# The observer reads ECS events from an SQS queue only when one is deployed for it; the runbook gives that
# statement separately, for the queue's own ARN.
OPTIONAL_SERVICES = frozenset({"sqs"})


def actions_called() -> set[str]:
    """Every AWS action the worker's modules call through a boto3 or aiobotocore client, as IAM names it."""
    called = set()
    for module in WORKER_MODULES:
        for client, method in CALL.findall(module.read_text(encoding="utf-8")):
            called.add(f"{SERVICE_OF_CLIENT[client]}:{''.join(part.title() for part in method.split('_'))}")
    return called


def policy_actions() -> set[str]:
    """The actions the committed worker policy allows."""
    document = json.loads(POLICY.read_text(encoding="utf-8"))
    actions: set[str] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_the_worker_modules_still_make_the_calls_the_policy_was_written_for() -> None:
    """The scan finds the worker's calls: a prefect-aws that moved them elsewhere would make this test useless."""
    called = actions_called()
    assert {"ecs:RunTask", "ecs:RegisterTaskDefinition", "ec2:DescribeVpcs", "ecs:DescribeTasks"} <= called


def test_the_policy_allows_every_call_and_nothing_else() -> None:
    """Each call of the worker and its observer is allowed; every other action allowed is one IAM implies."""
    required = {action for action in actions_called() if action.split(":")[0] not in OPTIONAL_SERVICES}
    allowed = policy_actions()
    assert sorted(required - allowed) == []
    assert sorted(allowed - required) == sorted(IMPLIED)


def test_pass_role_is_limited_to_the_two_roles_and_to_ecs_tasks() -> None:
    """The worker may hand only the flow's task role and the execution role to ECS tasks, no other role."""
    document = json.loads(POLICY.read_text(encoding="utf-8"))
    [statement] = [s for s in document["Statement"] if s["Action"] == "iam:PassRole"]
    assert sorted(statement["Resource"]) == [
        "arn:aws:iam::*:role/gas-alerts-flow-task",
        "arn:aws:iam::*:role/gas-alerts-task-execution",
    ]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    [tagging] = [s for s in document["Statement"] if s["Action"] == "ecs:TagResource"]
    assert tagging["Condition"] == {"StringEquals": {"ecs:CreateAction": ["RunTask", "RegisterTaskDefinition"]}}


def test_the_runbook_names_where_each_action_is_used() -> None:
    """docs/deploy.md lists each action of the policy, and the optional SQS ones, with the code that needs it."""
    runbook = RUNBOOK.read_text(encoding="utf-8")
    optional = {action for action in actions_called() if action.split(":")[0] in OPTIONAL_SERVICES}
    assert sorted(a for a in policy_actions() | optional if f"`{a}`" not in runbook) == []
    assert "deployments/ecs-worker-policy.json" in runbook


def test_the_task_roles_trust_ecs_tasks_only() -> None:
    """The trust policy for the flow's task role (and the worker's) lets ECS tasks, and only them, assume it."""
    document = json.loads(TRUST.read_text(encoding="utf-8"))
    [statement] = document["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
