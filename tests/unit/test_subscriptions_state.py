"""Terraform's state against SNS: the subscriptions the state holds that SNS no longer lists, and reading the state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gas_alerts.failures import PermanentError
from gas_alerts.subscriptions import CONFIRMED, PENDING, Declared, Subscription, declared_in, deleted_by_sns
from gas_cli.app import app
from gas_ops.terraform_state import show_state

TOPIC = "arn:aws:sns:us-east-1:123456789012:gas-alerts-price-drops"
DIGEST = "arn:aws:sns:us-east-1:123456789012:gas-alerts-weekly-digest"


def subscription(module: str, topic: str, endpoint: str) -> dict[str, Any]:
    """One aws_sns_topic_subscription as `terraform show -json` lists it (the fields the comparison reads)."""
    return {
        "address": f'{module}.aws_sns_topic_subscription.this["{endpoint}"]',
        "mode": "managed",
        "type": "aws_sns_topic_subscription",
        "name": "this",
        "values": {"arn": f"{topic}:id", "topic_arn": topic, "protocol": "email", "endpoint": endpoint},
    }


# The shape of `terraform show -json`: resources of the root module, and child modules nested in each other.
SHOWN: dict[str, Any] = {
    "format_version": "1.0",
    "values": {
        "root_module": {
            "resources": [
                {"address": "data.aws_region.current", "mode": "data", "type": "aws_region", "name": "current"},
            ],
            "child_modules": [
                {
                    "address": "module.alerts",
                    "resources": [
                        subscription("module.alerts", TOPIC, "ann@example.com"),
                        subscription("module.alerts", TOPIC, "Bob@Example.com"),
                        {"address": "module.alerts.aws_sns_topic.this", "mode": "managed", "type": "aws_sns_topic"},
                    ],
                    "child_modules": [{"address": "module.alerts.module.key", "resources": []}],
                },
                {
                    "address": "module.digest",
                    "resources": [
                        subscription("module.digest", DIGEST, "cy@example.com"),
                    ],
                },
            ],
        }
    },
}


def test_the_state_declares_every_subscription_of_every_module() -> None:
    """Subscriptions are found in nested modules with their address, topic and endpoint; nothing else is."""
    declared = declared_in(SHOWN)
    assert [(item.address.split(".")[1], item.endpoint, item.topic_arn) for item in declared] == [
        ("alerts", "ann@example.com", TOPIC),
        ("alerts", "Bob@Example.com", TOPIC),
        ("digest", "cy@example.com", DIGEST),
    ]
    assert {item.protocol for item in declared} == {"email"}


def test_an_empty_state_declares_nothing() -> None:
    """`terraform show -json` of a folder with no state has no values at all."""
    assert declared_in({"format_version": "1.0"}) == []


def test_a_subscription_sns_no_longer_lists_is_deleted_by_sns() -> None:
    """Confirmed or pending, a listed subscription is there (emails compared without case); an unlisted one is not."""
    listed = {
        TOPIC: [
            Subscription("ann@example.com", "email", CONFIRMED, {}, f"{TOPIC}:1"),
            Subscription("bob@example.com", "email", PENDING, None, "PendingConfirmation"),
        ],
        DIGEST: [Subscription("ann@example.com", "email", CONFIRMED, {}, f"{DIGEST}:2")],
    }
    [gone] = deleted_by_sns(declared_in(SHOWN), listed)
    assert gone == Declared(
        'module.digest.aws_sns_topic_subscription.this["cy@example.com"]', DIGEST, "email", "cy@example.com"
    )


def test_reading_the_state_of_a_missing_folder_names_it(tmp_path: Path) -> None:
    """A --terraform-dir that does not exist fails with a line that names it, before terraform runs."""
    missing = tmp_path / "infra"
    with pytest.raises(PermanentError, match=f"no Terraform folder at {missing}"):
        show_state(missing)


def test_reading_the_state_without_terraform_says_so(tmp_path: Path) -> None:
    """Without terraform on PATH the line says that the option needs it."""
    with pytest.raises(PermanentError, match="terraform is not on PATH"):
        show_state(tmp_path, environ={**os.environ, "PATH": str(tmp_path)})


def test_the_command_reports_an_unreadable_state_in_one_line(tmp_path: Path) -> None:
    """`gas-alerts subscribers --terraform-dir` with a bad folder ends with one error line and status 1."""
    result = CliRunner().invoke(app, ["subscribers", "--terraform-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: no Terraform folder at {tmp_path / 'nowhere'}"]
