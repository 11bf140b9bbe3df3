"""`gas-alerts status` on moto: every part the operator depends on, each problem one line with its next step."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Literal

import pytest
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_alerts.store import today_in_new_york
from gas_cli.app import app
from gas_local.delivery import LocalDelivery
from gas_local.provision import ensure_queue, provision
from gas_local.socrata import local_socrata
from tests.support.data import api_row
from tests.support.steps import STEADY, weekly_check

runner = CliRunner()


def monday(weeks_back: int) -> date:
    """The Monday `weeks_back` weeks before this week's, in New York."""
    today = today_in_new_york()
    return today - timedelta(days=today.weekday(), weeks=weeks_back)


def store(settings: Settings, newest: date, *, albany_falls: bool) -> None:
    """A baseline the week before `newest`, then `newest` (Albany 5 cents lower when it falls), checked now."""
    rows = [api_row(newest - timedelta(weeks=1), **STEADY)]
    with local_socrata(rows) as source:
        weekly_check(source.url, settings.table_name)
        source.rows.append(api_row(newest, **{**STEADY, "albany": "3.45" if albany_falls else "3.50"}))
        weekly_check(source.url, settings.table_name)


def operator_topic(settings: Settings, *, subscribed: bool) -> None:
    """The operator topic, with an SQS subscriber (moto confirms it at once) or none."""
    sns = aws.sns()
    topic = sns.create_topic(Name=settings.operator_topic_name)["TopicArn"]
    if subscribed:
        _, queue_arn = ensure_queue(aws.sqs(), f"{settings.operator_topic_name}-inbox")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)


def alarm(settings: Settings, name: str, state: Literal["OK", "ALARM"]) -> None:
    """One of the stack's alarms, in the given state (moto keeps the state it is set to)."""
    cloudwatch = aws.cloudwatch()
    cloudwatch.put_metric_alarm(
        AlarmName=f"{settings.name_prefix}-{name}",
        AlarmDescription=f"{name}: do the thing the runbook says",
        Namespace="GasAlerts",
        MetricName="CheckSucceeded",
        Statistic="Sum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=f"{settings.name_prefix}-{name}", StateValue=state, StateReason="test")


def test_a_healthy_service_shows_every_part_and_exits_0(settings: Settings) -> None:
    """A check just now, this week stored and delivered, no dead letter, an operator subscribed, alarms OK."""
    provision(settings)
    store(settings, monday(0), albany_falls=True)
    LocalDelivery.connect(settings).deliver_once()
    operator_topic(settings, subscribed=True)
    alarm(settings, "check-silent", "OK")

    result = runner.invoke(app, ["status"], env=settings.to_environment())

    assert result.exit_code == 0, result.output
    for shown in (
        "Last completed check",
        " minute",
        f"{monday(0)}, {(today_in_new_york() - monday(0)).days} days old at the last check",
        "Told messages unsent",
        "Dead letters waiting",
        "Operator subscriptions",
        "1 confirmed, 0 pending confirmation",
        "Alarm check-silent:",
        "All is well.",
    ):
        assert shown in result.output


def test_each_problem_is_one_line_with_its_next_step_and_status_exits_1(settings: Settings) -> None:
    """A stale week, an unsent fall, a dead letter, nobody on the operator topic, an alarm firing: five lines."""
    provision(settings)
    stale = monday(3)
    store(settings, stale, albany_falls=True)
    dead_letter_queue = aws.sqs().get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    aws.sqs().send_message(QueueUrl=dead_letter_queue, MessageBody=json.dumps({"DDBStreamBatchInfo": {}}))
    operator_topic(settings, subscribed=False)
    alarm(settings, "check-silent", "ALARM")

    result = runner.invoke(app, ["status"], env=settings.to_environment())

    problems = [line for line in result.stderr.splitlines() if line.startswith("problem: ")]
    assert result.exit_code == 1
    assert len(problems) == 5, result.stderr
    expected = (
        f"the source's newest week {stale} is",
        "told messages are unsent after 30 minutes: run `gas-alerts sweep`",
        "1 stream batches used up their retries: run `gas-alerts redrive`",
        "nobody receives the alarms",
        f"alarm {settings.name_prefix}-check-silent is firing: check-silent: do the thing the runbook says",
    )
    for problem, needle in zip(problems, expected, strict=True):
        assert needle in problem


@pytest.mark.parametrize("missing", ["table", "alarms"])
def test_what_was_never_provisioned_is_named(settings: Settings, missing: str) -> None:
    """No table: one line naming it; a stack never checked and without alarms: a problem line for each."""
    if missing == "alarms":
        provision(settings)
    result = runner.invoke(app, ["status"], env=settings.to_environment())

    assert result.exit_code == 1
    if missing == "table":
        assert f"table {settings.table_name} does not exist" in result.stderr
    else:
        assert "no alarm watches the service" in result.stderr
        assert "problem: no check has reported completing (CheckSucceeded): start the Prefect worker" in result.stderr
