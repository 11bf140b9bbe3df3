"""The local commands on moto: provisioning, and delivery before provisioning."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.filter_policy import SubscriberFilter
from gas_alerts.settings import Settings
from gas_cli.app import app
from gas_local.socrata import local_socrata
from tests.support.data import api_row
from tests.support.steps import weekly_check

runner = CliRunner()


def test_deliver_before_provision_says_what_to_run(settings: Settings) -> None:
    """Without the local resources, deliver exits 1 and tells the user to provision first."""
    result = runner.invoke(app, ["local", "deliver"], env=settings.to_environment())
    assert result.exit_code == 1
    assert "run `gas-alerts local provision` first" in result.output


def test_provision_is_idempotent_and_shows_the_filter(settings: Settings) -> None:
    """Provisioning twice succeeds both times and prints the subscriber's filter policy."""
    first = runner.invoke(
        app, ["local", "provision", "--regions", "albany", "--min-drop-cents", "3"], env=settings.to_environment()
    )
    second = runner.invoke(app, ["local", "provision"], env=settings.to_environment())
    assert first.exit_code == 0, first.output
    assert "{'region': ['albany'], 'drop_cents': [{'numeric': ['>=', 3]}]}" in first.output
    assert second.exit_code == 0, second.output
    assert "none (every alert)" in second.output


def test_provision_builds_alert_and_digest_policies_from_the_new_options(settings: Settings) -> None:
    """The price, percent, weeks-low and digest options become the inbox policies SubscriberFilter builds."""
    options = ["--max-price", "3.25", "--min-drop-percent", "2.5", "--min-low-weeks", "4"]
    digest = ["--digest-min-regions-fallen", "5", "--digest-min-largest-drop-cents", "10"]
    result = runner.invoke(app, ["local", "provision", *options, *digest], env=settings.to_environment())
    assert result.exit_code == 0, result.output
    expected_alerts = SubscriberFilter(
        max_price=Decimal("3.25"), min_drop_percent=Decimal("2.5"), min_low_weeks=4
    ).policy()
    expected_digest = SubscriberFilter(digest=True, min_regions_fallen=5, min_largest_drop_cents=Decimal(10)).policy()
    assert f"filter     {expected_alerts}" in result.output
    assert f"filter     {expected_digest}" in result.output
    digest_inbox = aws.sqs().get_queue_url(QueueName=settings.digest_inbox_queue)["QueueUrl"]
    assert digest_inbox in result.output


def test_provision_refuses_a_price_sns_would_refuse(settings: Settings) -> None:
    """A price with 6 decimal places exits 1 with SNS's limit named, before anything is created."""
    result = runner.invoke(app, ["local", "provision", "--max-price", "3.123456"], env=settings.to_environment())
    assert result.exit_code == 1
    assert "more than 5 decimal places" in result.output
    assert settings.table_name not in aws.dynamodb().list_tables()["TableNames"]


def test_deliver_counts_alerts_and_the_digest_apart(settings: Settings) -> None:
    """A week where two regions fell: deliver reports 2 alerts and 1 weekly digest, and says how it delivers."""
    assert runner.invoke(app, ["local", "provision"], env=settings.to_environment()).exit_code == 0
    with local_socrata([api_row(date(2026, 3, 2), albany="3.50", nassau="3.40", utica="3.30")]) as source:
        weekly_check(source.url, settings.table_name)
        source.rows.append(api_row(date(2026, 3, 9), albany="3.45", nassau="3.38", utica="3.31"))
        weekly_check(source.url, settings.table_name)

    result = runner.invoke(app, ["local", "deliver"], env=settings.to_environment())

    assert result.exit_code == 0, result.output
    assert "Delivering: no event source mapping is deployed" in result.output
    assert "2 alerts and 1 weekly digest delivered" in result.output


def test_deliver_follow_sums_up_every_poll_when_stopped(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --follow, a week delivered in the first poll still counts in the summary printed after Ctrl-C."""
    assert runner.invoke(app, ["local", "provision"], env=settings.to_environment()).exit_code == 0
    with local_socrata([api_row(date(2026, 3, 2), albany="3.50", nassau="3.40")]) as source:
        weekly_check(source.url, settings.table_name)
        source.rows.append(api_row(date(2026, 3, 9), albany="3.45", nassau="3.41"))
        weekly_check(source.url, settings.table_name)
    polls = iter([None])

    def wait_then_interrupt(_: float) -> None:
        # The user presses Ctrl-C during the second wait, after one empty poll.
        if next(polls, "stop") == "stop":
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", wait_then_interrupt)
    result = runner.invoke(app, ["local", "deliver", "--follow"], env=settings.to_environment())

    assert result.exit_code == 0, result.output
    assert "1 matched the filter, 1 alert and 1 weekly digest delivered" in result.output
