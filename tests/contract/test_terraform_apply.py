"""infra/ for real: terraform applies it to a local moto server, converges, and destroys it without leftovers."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_alerts.subscriptions import declared_in
from gas_alerts.terraform_state import managed_resources
from gas_cli.app import app
from gas_local.delivery import LocalDelivery
from gas_local.environment import local_aws_environment, patched_environment
from gas_local.lambda_runtime import PackagedFunction
from gas_local.package import DEFAULT_SOURCE, FILE_MODE, FIXED_DATE_TIME, build_package
from gas_local.provision import ensure_inboxes
from gas_local.scheduler import LocalScheduler
from gas_local.socrata import local_socrata
from gas_local.terraform import PACKAGE_IN_COPY, Terraform
from gas_ops.status import service_health
from gas_publisher import contract
from gas_publisher.sweep import SweepRequest
from tests.support.data import LATEST_SNAPSHOT_CSV, csv_rows
from tests.support.hcl import INFRA, MODULES, REPO, labelled
from tests.support.steps import weekly_check
from tests.support.terraform import LOCAL_VARS, REGION, Stack, Tools, example_subscribers, subscriber_filter

pytestmark = pytest.mark.slow(seconds=80)


# ---- the package -----------------------------------------------------------------------------------------------------


@pytest.fixture
def source_copy(tmp_path: Path) -> Path:
    """A copy of lambda/ with bytecode and a stray file added, which the package must leave out."""
    source = tmp_path / "lambda"
    shutil.copytree(DEFAULT_SOURCE / "gas_publisher", source / "gas_publisher", ignore=shutil.ignore_patterns("*.pyc"))
    cache = source / "gas_publisher" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "handler.cpython-313.pyc").write_bytes(b"\x00bytecode")
    (source / "gas_publisher" / "notes.txt").write_text("not code\n", encoding="utf-8")
    return source


def test_package_is_the_same_bytes_every_time(source_copy: Path, tmp_path: Path) -> None:
    """Two builds of the same source give identical bytes, and the returned hash is their base64 SHA-256."""
    first = build_package(source_copy, tmp_path / "first.zip")
    second = build_package(source_copy, tmp_path / "second.zip")
    data = (tmp_path / "first.zip").read_bytes()
    assert data == (tmp_path / "second.zip").read_bytes()
    assert first == second == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_package_ignores_mtimes_but_not_content(source_copy: Path, tmp_path: Path) -> None:
    """Touching a file leaves the zip unchanged; changing a file's content changes it."""
    handler = source_copy / "gas_publisher" / "handler.py"
    before = build_package(source_copy, tmp_path / "before.zip")
    os.utime(handler, (2_000_000_000, 2_000_000_000))
    assert build_package(source_copy, tmp_path / "touched.zip") == before
    handler.write_text(handler.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert build_package(source_copy, tmp_path / "changed.zip") != before


def test_package_holds_only_sorted_sources_with_fixed_metadata(source_copy: Path, tmp_path: Path) -> None:
    """The zip holds the package's .py and .json files, sorted, dated 1980-01-01, mode 0644, and no bytecode."""
    build_package(source_copy, tmp_path / "publisher.zip")
    with zipfile.ZipFile(tmp_path / "publisher.zip") as archive:
        entries = archive.infolist()
    names = [entry.filename for entry in entries]
    expected = sorted(
        path.relative_to(source_copy).as_posix()
        for path in (source_copy / "gas_publisher").iterdir()
        if path.suffix in {".py", ".json"}
    )
    assert names == expected
    assert "gas_publisher/handler.py" in names
    assert {(entry.date_time, entry.external_attr >> 16) for entry in entries} == {(FIXED_DATE_TIME, FILE_MODE)}
    assert {entry.compress_type for entry in entries} == {zipfile.ZIP_DEFLATED}


# ---- the stack on a local AWS ----------------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """Terraform wraps its messages at 78 columns; compare them as one line."""
    return " ".join(text.split())


def messages(stderr: str) -> str:
    """Terraform's error output without the source it quotes (which may hold every subscriber), as one line."""
    quoted = re.compile(r"^\s*(\d+:|├|│)")
    return one_line("\n".join(line for line in stderr.splitlines() if not quoted.match(line)))


@pytest.fixture
def stack(applied_stack: Stack, terraform_tools: Tools) -> Stack:
    """The stack applied once for this file and tests/contract/test_least_privilege.py (tests/support/terraform.py)."""
    return applied_stack


def publisher_default(name: str) -> Any:
    """The default of a variable of the publisher module."""
    return labelled(MODULES / "publisher", "variable")[name]["default"]


# ---- the applied stack -----------------------------------------------------------------------------------------------


def test_plan_without_the_package_asks_for_make_package(stack: Stack) -> None:
    """Before the zip exists, plan stops on the precondition that says to run `make package`."""
    result = stack.plan_without_package
    assert result.returncode == 1
    assert "Resource precondition failed" in result.stderr
    assert "run `make package`" in one_line(result.stderr)
    assert one_line(result.stderr).count("Error:") == 1, "the precondition should be the only error"


def test_init_from_the_mirror_keeps_the_committed_lock_file(stack: Stack) -> None:
    """Offline init installs the provider the committed lock file names, verifies it, and leaves the file as it was."""
    committed = (INFRA / ".terraform.lock.hcl").read_text(encoding="utf-8")
    assert (stack.terraform.workdir / ".terraform.lock.hcl").read_text(encoding="utf-8") == committed


def test_table_has_the_contract_keys_and_a_new_image_stream(stack: Stack) -> None:
    """The table named by the outputs exists with the contract's key schema, a NEW_IMAGE stream and KMS encryption."""
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.endpoint, region_name=REGION)
    table = dynamodb.describe_table(TableName=stack.outputs["table_name"])["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": contract.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": contract.SORT_KEY, "KeyType": "RANGE"},
    ]
    assert {a["AttributeType"] for a in table["AttributeDefinitions"]} == {contract.KEY_TYPE}
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": contract.STREAM_VIEW_TYPE}
    assert contract.STREAM_VIEW_TYPE == "NEW_IMAGE"
    assert table.get("SSEDescription", {}).get("SSEType") == "KMS"


def subscriptions(endpoint: str, topic_arn: str) -> dict[str, tuple[dict[str, Any], str | None]]:
    """Each subscription of a topic on moto: its endpoint to its filter policy and filter policy scope."""
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
    found = {}
    for subscription in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]:
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
        found[subscription["Endpoint"]] = (
            json.loads(attributes.get("FilterPolicy", "{}")),
            attributes.get("FilterPolicyScope"),
        )
    return found


def test_both_topics_exist_encrypted_with_the_default_names(stack: Stack) -> None:
    """The alert and digest topics exist under the names gas_alerts/settings.py defaults to, each with a KMS key."""
    sns = boto3.client("sns", endpoint_url=stack.endpoint, region_name=REGION)
    for name, arn in (("topic_name", "topic_arn"), ("digest_topic_name", "digest_topic_arn")):
        assert stack.outputs[arn].rsplit(":", 1)[-1] == stack.outputs[name]
        assert sns.get_topic_attributes(TopicArn=stack.outputs[arn])["Attributes"]["KmsMasterKeyId"]
    assert (stack.outputs["topic_name"], stack.outputs["digest_topic_name"]) == (
        "gas-alerts-price-drops",
        "gas-alerts-weekly-digest",
    )


def test_each_example_subscriber_gets_the_policy_subscriber_filter_builds(stack: Stack) -> None:
    """Every example subscriber is on its own topic only, with exactly SubscriberFilter(...).policy() as its filter."""
    alerts = subscriptions(stack.endpoint, stack.outputs["topic_arn"])
    digests = subscriptions(stack.endpoint, stack.outputs["digest_topic_arn"])
    for entry in example_subscribers():
        mine, other = (digests, alerts) if entry.get("digest") else (alerts, digests)
        expected = subscriber_filter(entry).policy()
        policy, scope = mine[entry["email"]]
        assert policy == expected, entry["email"]
        # SNS refuses a scope without a policy, so a subscriber to every message has neither.
        assert scope == ("MessageAttributes" if expected else None), entry["email"]
        assert entry["email"] not in other
    assert len(alerts) + len(digests) == len(example_subscribers())


def test_filter_policy_outputs_show_what_each_topic_holds(stack: Stack) -> None:
    """The two filter policy outputs are the policies on moto, per topic, keyed by lower-cased email."""
    for topic, output in (
        ("topic_arn", "subscriber_filter_policies"),
        ("digest_topic_arn", "digest_subscriber_filter_policies"),
    ):
        seen = {
            email.lower(): policy for email, (policy, _) in subscriptions(stack.endpoint, stack.outputs[topic]).items()
        }
        assert seen == stack.outputs[output]


def test_dead_letter_queue_exists(stack: Stack) -> None:
    """The dead-letter queue named by the outputs exists at the URL the outputs give."""
    sqs = boto3.client("sqs", endpoint_url=stack.endpoint, region_name=REGION)
    url = sqs.get_queue_url(QueueName=stack.outputs["dead_letter_queue_name"])["QueueUrl"]
    assert url == stack.outputs["dead_letter_queue_url"]


def test_function_runs_the_built_package(stack: Stack) -> None:
    """The function's CodeSha256 is build_package's hash, with the contract's handler and environment names."""
    lambda_ = boto3.client("lambda", endpoint_url=stack.endpoint, region_name=REGION)
    configuration = lambda_.get_function(FunctionName=stack.outputs["publisher_function_name"])["Configuration"]
    assert configuration["CodeSha256"] == stack.code_sha256
    assert configuration["Handler"] == contract.HANDLER
    variables = configuration["Environment"]["Variables"]
    assert sorted(variables) == sorted(contract.HANDLER_ENVIRONMENT)
    assert variables[contract.ENV_TABLE_NAME] == stack.outputs["table_name"]
    assert variables[contract.ENV_TOPIC_ARN] == stack.outputs["topic_arn"]
    assert variables[contract.ENV_DIGEST_TOPIC_ARN] == stack.outputs["digest_topic_arn"]


def test_publisher_may_publish_to_both_topics_and_use_their_keys(stack: Stack) -> None:
    """The function's role allows sns:Publish on exactly the two topics, and the two topic keys through SNS."""
    iam = boto3.client("iam", endpoint_url=stack.endpoint, region_name=REGION)
    role = stack.outputs["publisher_function_name"]
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    statements = json.loads(document) if isinstance(document, str) else document
    publish = {arn for s in statements["Statement"] if s["Action"] == "sns:Publish" for arn in _listed(s["Resource"])}
    assert publish == {stack.outputs["topic_arn"], stack.outputs["digest_topic_arn"]}
    sns = boto3.client("sns", endpoint_url=stack.endpoint, region_name=REGION)
    keys = {
        sns.get_topic_attributes(TopicArn=stack.outputs[arn])["Attributes"]["KmsMasterKeyId"]
        for arn in ("topic_arn", "digest_topic_arn")
    }
    via_sns = {
        arn
        for s in statements["Statement"]
        if s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService") == f"sns.{REGION}.amazonaws.com"
        for arn in _listed(s["Resource"])
    }
    assert via_sns == keys


def _listed(value: str | list[str]) -> list[str]:
    """IAM writes a single resource as a string and several as a list."""
    return [value] if isinstance(value, str) else value


def test_event_source_mapping_has_the_configured_settings(stack: Stack) -> None:
    """One mapping reads the table's stream from TRIM_HORIZON with the filter file, bounded retries and the DLQ."""
    lambda_ = boto3.client("lambda", endpoint_url=stack.endpoint, region_name=REGION)
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.endpoint, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=stack.endpoint, region_name=REGION)
    stream_arn = dynamodb.describe_table(TableName=stack.outputs["table_name"])["Table"]["LatestStreamArn"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=stack.outputs["dead_letter_queue_url"], AttributeNames=["QueueArn"])
    function = lambda_.get_function(FunctionName=stack.outputs["publisher_function_name"])["Configuration"]
    # By ARN: moto matches this filter against the string the mapping was created with, which Terraform gives as an ARN.
    [mapping] = lambda_.list_event_source_mappings(FunctionName=function["FunctionArn"])["EventSourceMappings"]
    assert mapping["EventSourceArn"] == stream_arn
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == publisher_default("batch_size")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == publisher_default("maximum_retry_attempts")
    assert mapping["MaximumRecordAgeInSeconds"] == publisher_default("maximum_record_age_in_seconds")
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn["Attributes"]["QueueArn"]}}
    [only_filter] = mapping["FilterCriteria"]["Filters"]
    assert json.loads(only_filter["Pattern"]) == contract.stream_filter_pattern()


def alarms_by_name(stack: Stack) -> dict[str, dict[str, Any]]:
    """Every metric alarm moto holds, by name."""
    cloudwatch = boto3.client("cloudwatch", endpoint_url=stack.endpoint, region_name=REGION)
    return {alarm["AlarmName"]: dict(alarm) for alarm in cloudwatch.describe_alarms()["MetricAlarms"]}


def test_the_heartbeat_alarm_emails_the_operator_within_28_hours_of_the_last_completed_check(stack: Stack) -> None:
    """CheckSucceeded of this table, missing data breaching, 26 hourly periods: 27 h at most, as CloudWatch allows."""
    alarm = alarms_by_name(stack)["gas-alerts-check-silent"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (contract.METRIC_NAMESPACE, contract.METRIC_CHECK_SUCCEEDED)
    assert alarm["Dimensions"] == [{"Name": contract.METRIC_DIMENSION, "Value": stack.outputs["table_name"]}]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "SampleCount",
        "LessThanThreshold",
        1.0,
    )
    assert alarm["TreatMissingData"] == "breaching", "a worker that never starts alarms too"
    assert alarm["AlarmActions"] == alarm["OKActions"] == [stack.outputs["operator_topic_arn"]]
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    # The last check lands somewhere in a period; the alarm fires at the end of the last of the silent periods.
    assert (alarm["EvaluationPeriods"] + 1) * alarm["Period"] <= 28 * 3600
    assert alarm["EvaluationPeriods"] * alarm["Period"] > 25 * 3600, "a daily check an hour late never alarms"
    assert alarm["EvaluationPeriods"] * alarm["Period"] <= 7 * 86_400, "CloudWatch refuses more"


def test_every_alarm_emails_the_operator_and_says_what_to_do(stack: Stack) -> None:
    """The stale source, unsent, sweep-stopped, publisher errors and dead-letter alarms all email the operator."""
    alarms = alarms_by_name(stack)
    assert set(alarms) == {
        *stack.outputs["alarm_names"].values(),
        "gas-alerts-publisher-errors",
        "gas-alerts-publisher-dlq-not-empty",
    }
    assert set(alarms) == {f"gas-alerts-{suffix}" for suffix in contract.ALARM_SUFFIXES}, "status asks for these"
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [stack.outputs["operator_topic_arn"]], name
        assert "`gas-alerts " in alarm["AlarmDescription"], f"{name} says which command to run"
    stale = alarms["gas-alerts-source-stale"]
    assert (stale["MetricName"], stale["Threshold"], stale["TreatMissingData"]) == (
        contract.METRIC_SOURCE_AGE_DAYS,
        float(contract.SOURCE_STALE_AFTER_DAYS),
        "ignore",
    )
    unsent = alarms["gas-alerts-unsent-messages"]
    assert (unsent["MetricName"], unsent["ComparisonOperator"], unsent["Threshold"]) == (
        contract.METRIC_UNSENT_MESSAGES,
        "GreaterThanThreshold",
        0.0,
    )
    assert alarms["gas-alerts-sweep-silent"]["TreatMissingData"] == "breaching"


def test_the_sweep_runs_hourly_from_eventbridge_scheduler_with_the_contracts_event(stack: Stack) -> None:
    """The schedule invokes the publisher with the event its handler reads as a sweep, through a role it may assume."""
    scheduler = boto3.client("scheduler", endpoint_url=stack.endpoint, region_name=REGION)
    iam = boto3.client("iam", endpoint_url=stack.endpoint, region_name=REGION)
    lambda_ = boto3.client("lambda", endpoint_url=stack.endpoint, region_name=REGION)
    schedule = scheduler.get_schedule(Name=stack.outputs["sweep_schedule_name"])
    function = lambda_.get_function(FunctionName=stack.outputs["publisher_function_name"])["Configuration"]

    assert schedule["ScheduleExpression"] == contract.SWEEP_SCHEDULE == "rate(1 hour)"
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"] == function["FunctionArn"]
    assert json.loads(target["Input"]) == SweepRequest().to_event()
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    role = iam.get_role(RoleName=target["RoleArn"].rsplit("/", 1)[-1])["Role"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    account = function["FunctionArn"].split(":")[4]
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnEquals": {"aws:SourceArn": f"arn:aws:scheduler:{REGION}:{account}:schedule-group/default"},
    }, "only this account's default schedule group may assume it"
    config = lambda_.get_function_event_invoke_config(FunctionName=function["FunctionName"])
    assert config["MaximumRetryAttempts"] == 0, "Lambda's own retries of a failed sweep are off"
    [(policy_name)] = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policy_name)["PolicyDocument"]
    [grant] = document["Statement"]
    assert (grant["Action"], grant["Resource"]) == ("lambda:InvokeFunction", function["FunctionArn"])


def test_the_local_scheduler_runs_the_deployed_schedule_with_the_deployed_package(stack: Stack, tmp_path: Path) -> None:
    """`make up`'s scheduler finds Terraform's schedule and invokes the function's own zip with its input."""
    settings = stack_settings(stack, tmp_path)
    with patched_environment(local_aws_environment(stack.endpoint)):
        scheduler = LocalScheduler.connect(settings, package=stack.terraform.workdir / PACKAGE_IN_COPY)
        scheduler.start(at_once=True)
        [report] = scheduler.run_due()

    [schedule] = scheduler.schedules
    assert schedule.name == stack.outputs["sweep_schedule_name"]
    assert (schedule.interval.total_seconds(), schedule.event) == (3600, SweepRequest().to_event())
    assert isinstance(scheduler.invoke, PackagedFunction), "the deployed zip runs, in a process of its own"
    assert set(report) == {"sent", "unsent", "in_flight", "waiting", "malformed", "deferred"}


def stack_settings(stack: Stack, folder: Path) -> Settings:
    """The product's settings for the stack Terraform made: every name read from `terraform output -json`."""
    outputs = stack.outputs
    return Settings(
        table_name=outputs["table_name"],
        topic_name=outputs["topic_name"],
        topic_arn=outputs["topic_arn"],
        inbox_queue="terraform-inbox",
        digest_topic_name=outputs["digest_topic_name"],
        digest_inbox_queue="terraform-digest-inbox",
        dead_letter_queue=outputs["dead_letter_queue_name"],
        outbox=folder / "outbox",
        state_dir=folder / "state",
        app_token=None,
        operator_topic_name=outputs["prefect_environment"]["GAS_ALERTS_OPERATOR_TOPIC"],
    )


def test_the_weekly_check_writes_to_terraforms_table_and_alerts_go_out_through_its_mapping(
    stack: Stack, tmp_path: Path
) -> None:
    """The check's tasks write to the table Terraform made; local delivery plays its mapping and runs the deployed zip.

    The tasks run as plain functions, in the flow's order (tests/support/steps.py): the flow tier runs them through
    Prefect, and a second Prefect server here would add nothing about Terraform's side.
    """
    settings = stack_settings(stack, tmp_path)
    with patched_environment(local_aws_environment(stack.endpoint)):
        outputs = stack.outputs
        inboxes = ensure_inboxes(settings, topic_arn=outputs["topic_arn"], digest_topic_arn=outputs["digest_topic_arn"])
        try:
            with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as source:
                source.reveal_until(date(2026, 2, 16))
                weekly_check(source.url, outputs["table_name"])
                source.reveal_until(date(2026, 2, 23))
                result = weekly_check(source.url, outputs["table_name"])
            delivery = LocalDelivery.connect(settings, package=stack.terraform.workdir / PACKAGE_IN_COPY)
            _, delivered = delivery.deliver_once()
            health = service_health(settings)
        finally:
            # The inboxes stand in for email subscribers; they are not Terraform's, and destroy must find none.
            for inbox in inboxes:
                aws.sqs().delete_queue(QueueUrl=inbox.url)

    assert result.written == [date(2026, 2, 23)]
    [record] = result.alerting
    assert sorted(record.drops) == ["glens_falls", "watertown", "white_plains"]
    assert isinstance(delivery.runner.handler, PackagedFunction), "the deployed function's own zip runs"
    assert (delivery.runner.batch_size, delivery.runner.bisect_on_error) == (
        publisher_default("batch_size"),
        True,
    )
    alerts = sorted(alert.region for alert, _ in delivered if not alert.is_digest)
    assert alerts == ["glens_falls", "watertown", "white_plains"]
    assert [alert.attributes["regions_fallen"] for alert, _ in delivered if alert.is_digest] == ["3"]
    shown = {finding.label: finding for finding in health.findings}
    assert re.search(r"\d+ minutes? ago$", shown["Last completed check"].value), "the check's heartbeat, read back"
    assert not shown["Last completed check"].problem
    assert shown["Told messages unsent"].value == "none"
    assert {label for label in shown if label.startswith("Alarm ")} == {
        f"Alarm {name.removeprefix('gas-alerts-')}" for name in alarms_by_name(stack)
    }


def test_the_runbooks_cost_counts_every_rotating_key_and_its_first_two_rotations(stack: Stack) -> None:
    """Every KMS key rotates, and the runbook's monthly figures are the key count times US$1, 2 and 3.

    A key costs US$1 a month, and each of its first two yearly rotations adds US$1.
    """
    keys = [item for item in managed_resources(stack.state()) if item["type"] == "aws_kms_key"]
    assert keys, "the stack makes customer-managed keys"
    assert all(item["values"]["enable_key_rotation"] for item in keys)
    runbook = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    cost = runbook[runbook.index("## 10. The monthly cost") : runbook.index("## 11.")]
    assert re.findall(r"\| US\$(\d+) \|", cost) == [str(len(keys) * year) for year in (1, 2, 3)]


def test_the_state_declares_each_example_subscriber_on_its_topic(stack: Stack) -> None:
    """declared_in reads `terraform show -json` as Terraform writes it: each subscriber, its topic and its address."""
    # Keyed by topic too: an address may also be an alarm email, on the operator topic.
    declared = {(item.topic_arn, item.endpoint): item for item in declared_in(stack.state())}
    for entry in example_subscribers():
        topic = stack.outputs["digest_topic_arn" if entry.get("digest") else "topic_arn"]
        item = declared[(topic, entry["email"])]
        assert item.protocol == "email"
        assert item.address.endswith(f'.aws_sns_topic_subscription.this["{entry["email"]}"]')


def test_subscribers_names_a_subscription_sns_deleted_and_the_apply_that_makes_it_again(stack: Stack) -> None:
    """A subscription the state holds but SNS no longer lists is reported, with the apply that subscribes it again.

    That apply's plan adds exactly it, and after it nothing is reported. SNS deletes an email subscription left
    unconfirmed for 48 hours; moto confirms at once, so an unsubscribe plays the deletion.
    """
    [gone] = [entry["email"] for entry in example_subscribers() if not entry.get("digest")][:1]
    sns = boto3.client("sns", endpoint_url=stack.endpoint, region_name=REGION)
    [arn] = [
        item["SubscriptionArn"]
        for item in sns.list_subscriptions_by_topic(TopicArn=stack.outputs["topic_arn"])["Subscriptions"]
        if item["Endpoint"] == gone
    ]
    folder = str(stack.terraform.workdir)
    command = ["subscribers", "--terraform-dir", folder]
    sns.unsubscribe(SubscriptionArn=arn)
    try:
        reported = CliRunner().invoke(app, command, env=stack.terraform.environment)
        plan = stack.terraform.run("plan", "-detailed-exitcode", *LOCAL_VARS)
    finally:
        stack.terraform.succeed("apply", "-auto-approve", *LOCAL_VARS)
    after = CliRunner().invoke(app, command, env=stack.terraform.environment)

    assert reported.exit_code == 1, reported.output
    output = one_line(reported.output)
    assert f"{gone} (email) on {stack.outputs['topic_name']}: deleted by SNS" in output
    assert f"re-subscribe with `terraform -chdir={folder} apply`" in output
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in plan.stdout
    assert f'aws_sns_topic_subscription.this["{gone}"] will be created' in plan.stdout
    assert after.exit_code == 0, after.output
    assert "deleted by SNS" not in after.output


def test_a_second_plan_has_nothing_to_change(stack: Stack) -> None:
    """Right after apply, plan -detailed-exitcode exits 0: no resource drifts on every run."""
    result = stack.terraform.run("plan", "-detailed-exitcode", *LOCAL_VARS)
    assert result.returncode == 0, result.stdout + result.stderr


def write_subscribers(stack: Stack, name: str, subscribers: list[dict[str, Any]]) -> str:
    """A variables file in the stack's folder that sets only the subscribers; returns the -var-file argument."""
    (stack.terraform.workdir / name).write_text(json.dumps({"subscribers": subscribers}), encoding="utf-8")
    return f"-var-file={name}"


def test_a_plan_refuses_subscriber_fields_of_the_other_kind_and_names_them(stack: Stack) -> None:
    """A digest subscriber with regions, or an alert subscriber with a digest threshold, stops the plan by email."""
    bad: list[dict[str, Any]] = [
        {"email": "digest@example.com", "digest": True, "regions": ["albany"]},
        {"email": "alerts@example.com", "min_regions_fallen": 5},
        {"email": "fine@example.com", "digest": True, "min_regions_fallen": 5},
    ]
    result = stack.terraform.run(
        "plan", "-refresh=false", *LOCAL_VARS, write_subscribers(stack, "kinds.tfvars.json", bad)
    )
    message = messages(result.stderr)
    assert result.returncode == 1
    assert "Digest subscriber(s) digest@example.com: regions, min_drop_cents, max_price" in message
    assert (
        "Subscriber(s) alerts@example.com: min_regions_fallen and min_largest_drop_cents filter the weekly digest"
        in message
    )
    assert "fine@example.com" not in message
    assert message.count("Error:") == 2


def test_a_plan_refuses_a_policy_sns_would_refuse_and_names_the_subscriber(stack: Stack) -> None:
    """A number with 6 decimal places and an unknown region stop the plan, each message naming its subscriber."""
    bad: list[dict[str, Any]] = [
        {"email": "pennies@example.com", "max_price": 3.123456},
        {"email": "typo@example.com", "regions": ["albny"]},
        {"email": "fine@example.com", "max_price": 3.12345},
    ]
    result = stack.terraform.run(
        "plan", "-refresh=false", *LOCAL_VARS, write_subscribers(stack, "sns.tfvars.json", bad)
    )
    message = messages(result.stderr)
    assert result.returncode == 1
    assert "Subscriber pennies@example.com: SNS takes filter numbers with at most 5 decimal places" in message
    assert "got 3.123456." in message
    assert "Subscriber typo@example.com: unknown region albny." in message
    assert "fine@example.com" not in message
    assert message.count("Error:") == 2


def test_the_topic_module_refuses_too_many_keys_or_combinations(stack: Stack) -> None:
    """Given policies beyond 5 keys or 150 combinations, the subscriber_topic module stops the plan by email."""
    # The root's own fields cannot reach these limits (5 keys at most, 17 regions), so the module is planned alone.
    root = stack.terraform.workdir.parent / "limits"
    root.mkdir(exist_ok=True)
    too_many_keys = {f"key{n}": ["x"] for n in range(6)}
    too_many_combinations = {"a": [str(n) for n in range(13)], "b": [str(n) for n in range(12)]}
    subscribers = [
        {"email": "keys@example.com", "filter_policy": json.dumps(too_many_keys)},
        {"email": "combinations@example.com", "filter_policy": json.dumps(too_many_combinations)},
        {"email": "fine@example.com", "filter_policy": json.dumps({"a": [str(n) for n in range(150)]})},
    ]
    configuration = {
        "provider": {"aws": {"region": REGION}},
        "module": {
            "topic": {"source": "../infra/modules/subscriber_topic", "name": "limits", "subscribers": subscribers}
        },
    }
    (root / "main.tf.json").write_text(json.dumps(configuration), encoding="utf-8")
    terraform = Terraform(stack.terraform.binary, root, stack.terraform.environment)
    terraform.succeed("init", "-backend=false")
    result = terraform.run("plan")
    message = messages(result.stderr)
    assert result.returncode == 1
    assert "Subscriber keys@example.com: the filter policy has 6 keys; SNS allows at most 5." in message
    assert "Subscriber combinations@example.com: the filter policy has 156 value combinations" in message
    assert "fine@example.com" not in message


def test_a_plan_refuses_more_filter_policies_than_the_topic_quota(stack: Stack) -> None:
    """SNS takes 200 filter policies a topic by default: a topic with more is refused at plan time, naming the quota.

    The example has two filtered alert subscribers and one filtered digest subscriber, so a quota of 1 refuses the
    alert topic alone.
    """
    result = stack.terraform.run("plan", "-refresh=false", *LOCAL_VARS, "-var", "max_filter_policies_per_topic=1")
    message = messages(result.stderr)
    assert result.returncode == 1
    assert "Topic gas-alerts-price-drops: 2 subscribers have a filter policy; SNS allows 1 on a topic" in message
    assert "gas-alerts-weekly-digest" not in message
    assert message.count("Error:") == 1


@pytest.mark.destroys_stack
def test_destroy_leaves_no_table_topic_queue_function_or_mapping(stack: Stack) -> None:
    """Destroy succeeds, and moto then holds none of the stack's tables, topics, queues or functions."""
    stack.terraform.succeed("destroy", "-auto-approve", *LOCAL_VARS)
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.endpoint, region_name=REGION)
    sns = boto3.client("sns", endpoint_url=stack.endpoint, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=stack.endpoint, region_name=REGION)
    lambda_ = boto3.client("lambda", endpoint_url=stack.endpoint, region_name=REGION)
    assert dynamodb.list_tables()["TableNames"] == []
    assert sns.list_topics()["Topics"] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert lambda_.list_functions()["Functions"] == []
    assert lambda_.list_event_source_mappings()["EventSourceMappings"] == []
    assert alarms_by_name(stack) == {}
    scheduler = boto3.client("scheduler", endpoint_url=stack.endpoint, region_name=REGION)
    assert scheduler.list_schedules()["Schedules"] == []
    assert stack.terraform.succeed("state", "list").strip() == ""
