"""`make up`'s way of making the AWS side on moto: Terraform when it can, else `gas-alerts local provision`, and why."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.stack import LocalStack, Ports
from gas_ops.resources import find_topic_arn


def local_stack(settings: Settings, moto_endpoint: str, project: Path, reports: list[str]) -> LocalStack:
    """A stack whose moto is the session's server (nothing else of it is started)."""
    port = urlsplit(moto_endpoint).port
    assert port is not None
    return LocalStack(project, settings, Ports(prefect=1, moto=port), report=reports.append)


def assert_provisioned(settings: Settings) -> None:
    """The table with its stream, both topics, both inboxes and the dead-letter queue exist under the settings names."""
    assert aws.dynamodb().describe_table(TableName=settings.table_name)["Table"]["LatestStreamArn"]
    assert find_topic_arn(aws.sns(), settings.topic_name)
    assert find_topic_arn(aws.sns(), settings.digest_topic_name)
    for queue in (settings.inbox_queue, settings.digest_inbox_queue, settings.dead_letter_queue):
        assert aws.sqs().get_queue_url(QueueName=queue)["QueueUrl"]


def test_without_terraform_it_runs_local_provision_and_says_so(
    settings: Settings, moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no terraform on PATH, the resources come from `gas-alerts local provision`, and the result says why."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    reports: list[str] = []
    stack = local_stack(settings, moto_endpoint, tmp_path, reports)

    provisioned_by = stack.provision_aws(stack.environment())

    assert provisioned_by == "`gas-alerts local provision`, not Terraform: terraform is not on PATH"
    assert any("gas-alerts local provision" in report for report in reports)
    assert_provisioned(settings)


def test_names_terraform_cannot_give_fall_back_to_local_provision(
    settings: Settings, moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resource names off infra/'s <prefix>-… naming cannot come from Terraform; the fallback says so."""
    terraform = tmp_path / "bin" / "terraform"
    terraform.parent.mkdir()
    terraform.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    terraform.chmod(0o755)
    monkeypatch.setenv("PATH", str(terraform.parent))
    # The fixture's names (prices-…, drops-…) follow no single prefix, so the fake terraform is never run.
    stack = local_stack(settings, moto_endpoint, tmp_path, [])

    provisioned_by = stack.provision_aws(stack.environment())

    assert provisioned_by.startswith("`gas-alerts local provision`, not Terraform: the GAS_ALERTS_* resource names")
    assert_provisioned(settings)
