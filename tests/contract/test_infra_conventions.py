"""infra/ follows the project's Terraform conventions: documented inputs and outputs, layout, naming, no secrets."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from gas_publisher.contract import MAPPING
from tests.support.hcl import (
    ALL_DIRS,
    INFRA,
    MODULE_NAMES,
    MODULES,
    REPO,
    allows,
    blocks,
    labelled,
    lower_bound,
    module_call,
    module_scope,
    parse,
    policy_statements,
    tf_files,
    typed,
)
from tests.support.terraform import runbook_backend_block

STANDARD_FILES = ("main.tf", "variables.tf", "outputs.tf", "README.md")
ALL_TF = sorted(path for directory in ALL_DIRS for path in tf_files(directory))
# Terraform's working files and the built zip (both git-ignored) are not sources.
GENERATED = frozenset({".terraform", "build"})
TEXT_FILES = sorted(path for path in INFRA.rglob("*") if path.is_file() and not GENERATED & set(path.parts))


def _relative(path: Path) -> str:
    return str(path.relative_to(INFRA))


VARIABLES = [(directory, name) for directory in ALL_DIRS for name in labelled(directory, "variable")]
OUTPUTS = [(directory, name) for directory in ALL_DIRS for name in labelled(directory, "output")]


@pytest.mark.parametrize(("directory", "name"), VARIABLES, ids=[f"{_relative(d) or '.'}:{n}" for d, n in VARIABLES])
def test_every_variable_has_a_type_and_a_description(directory: Path, name: str) -> None:
    """Each variable, in the root and in every module, declares a type and a non-empty description."""
    variable = labelled(directory, "variable")[name]
    assert variable.get("type"), f"variable {name} has no type"
    assert str(variable.get("description", "")).strip(), f"variable {name} has no description"


@pytest.mark.parametrize(("directory", "name"), OUTPUTS, ids=[f"{_relative(d) or '.'}:{n}" for d, n in OUTPUTS])
def test_every_output_has_a_description(directory: Path, name: str) -> None:
    """Each output, in the root and in every module, has a non-empty description."""
    assert str(labelled(directory, "output")[name].get("description", "")).strip()


def test_the_parametrized_lists_are_not_empty() -> None:
    """The description checks above really run over the stack (a parse regression would empty them)."""
    assert len(VARIABLES) > 20
    assert len(OUTPUTS) > 10


@pytest.mark.parametrize("directory", ALL_DIRS, ids=lambda d: _relative(d) or ".")
def test_each_module_has_the_standard_files(directory: Path) -> None:
    """The root and every module have main, variables and outputs files and a README."""
    assert [name for name in STANDARD_FILES if not (directory / name).is_file()] == []


def test_every_key_and_key_policy_comes_from_the_kms_key_module() -> None:
    """Only modules/kms_key declares KMS keys, and each encrypted piece calls it for its own key."""
    key_dirs = {d.name for d in ALL_DIRS if any(type_ == "aws_kms_key" for type_, _ in typed(d, "resource"))}
    assert key_dirs == {"kms_key"}
    callers = {
        directory.name
        for directory in ALL_DIRS
        for call in labelled(directory, "module").values()
        if call["source"] == "../kms_key"
    }
    assert callers == {"price_table", "subscriber_topic", "operator_topic", "publisher"}


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_a_single_resource_of_its_kind_is_named_this(module: str) -> None:
    """Inside a module, a resource type used once is named `this`."""
    resources = typed(MODULES / module, "resource")
    counts = Counter(type_ for type_, _ in resources)
    misnamed = [f"{type_}.{name}" for type_, name in resources if counts[type_] == 1 and name != "this"]
    assert misnamed == []


@pytest.mark.parametrize("path", ALL_TF, ids=_relative)
def test_each_file_starts_with_a_comment_saying_what_it_is_for(path: Path) -> None:
    """The first line of every .tf file is a comment."""
    assert path.read_text(encoding="utf-8").startswith("# ")


@pytest.mark.parametrize("path", ALL_TF, ids=_relative)
def test_policies_are_built_from_policy_documents(path: Path) -> None:
    """No heredoc and no hand-written JSON policy: every policy argument is a policy document's .json."""
    text = path.read_text(encoding="utf-8")
    assert "<<" not in text
    for match in re.finditer(r"^\s*(?:policy|assume_role_policy)\s*=\s*(.+)$", text, re.MULTILINE):
        assert re.fullmatch(r"data\.aws_iam_policy_document\.\w+\.json", match.group(1).strip()), match.group(0)


CREDENTIAL_PATTERNS = (
    # A key, token or profile given as a literal value (the README's input() prompts are fine).
    re.compile(r"\b(?:access_key|secret_key|aws_access_key_id|aws_secret_access_key|token|profile)\s*=\s*[\"']"),
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
)


@pytest.mark.parametrize("path", TEXT_FILES, ids=_relative)
def test_no_credentials_anywhere_in_infra(path: Path) -> None:
    """No file under infra/ sets keys, tokens or a profile: the provider uses the standard credential chain."""
    text = path.read_text(encoding="utf-8")
    assert [p.pattern for p in CREDENTIAL_PATTERNS if p.search(text)] == []


@pytest.mark.parametrize("path", ALL_TF, ids=_relative)
def test_every_wildcard_resource_is_explained_by_a_comment(path: Path) -> None:
    """A "*" resource carries a comment on its line or the line above saying why."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.search(r'resources\s*=\s*\["\*"\]', line):
            above = lines[number - 1].strip() if number else ""
            assert "#" in line or above.startswith("#"), f"{path.name}:{number + 1} has an unexplained wildcard"


SKIP = re.compile(r"^(?P<indent>\s*)#checkov:skip=(?P<check>[A-Z0-9_]+):(?P<reason>.*)$")


@pytest.mark.parametrize("path", ALL_TF, ids=_relative)
def test_checkov_skips_are_inline_and_give_a_reason(path: Path) -> None:
    """Each checkov skip names one check, sits inside a block (indented) and states a reason of a few words."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if "checkov:skip" in line:
            skip = SKIP.match(line)
            assert skip, f"malformed skip: {line.strip()}"
            assert skip["indent"], f"{skip['check']} is not inside a resource block"
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["check"])
            assert len(skip["reason"].split()) >= 8, f"{skip['check']} needs a real reason"


def test_the_root_alone_pins_terraform_and_gives_the_provider_a_lower_bound() -> None:
    """infra/versions.tf pins required_version and gives hashicorp/aws a >= lower bound: the one home of both.

    The modules are called only within this stack (kms_key by the four others), so they take the root's provider and
    add no requirements of their own.
    """
    modules_with_requirements = [name for name in MODULE_NAMES if any(blocks(MODULES / name, "terraform"))]
    assert modules_with_requirements == []
    [terraform] = parse(INFRA / "versions.tf")["terraform"]
    assert terraform["required_version"].startswith(">= 1.")
    [providers] = terraform["required_providers"]
    assert "aws" in providers
    for name, requirement in providers.items():
        assert requirement["source"] == f"hashicorp/{name}"
        assert requirement["version"].startswith(">= ")
    assert set(providers) == {"aws"}, "only hashicorp/aws: the stack must init from a mirror holding only it"


# The provider version the Terraform tests apply (the mirror holds it); the next major has breaking changes.
TESTED_PROVIDER = "5.100.0"
NEXT_MAJOR = "6.0.0"
LOCK_FILE = INFRA / ".terraform.lock.hcl"
LOCKED_PROVIDER = "registry.terraform.io/hashicorp/aws"


def test_the_provider_is_bounded_below_the_next_major_version() -> None:
    """versions.tf lets hashicorp/aws 5.100.0 (what the tests apply) in and keeps 6.x (never applied here) out."""
    [terraform] = parse(INFRA / "versions.tf")["terraform"]
    [providers] = terraform["required_providers"]
    constraint = providers["aws"]["version"]
    assert allows(constraint, TESTED_PROVIDER)
    assert not allows(constraint, NEXT_MAJOR)
    assert not allows(constraint, "7.1.0")


def test_the_committed_lock_file_pins_the_tested_provider_for_every_platform() -> None:
    """infra/.terraform.lock.hcl selects 5.100.0 under versions.tf's constraint, with the registry's checksums.

    The h1: hash is the linux_amd64 package's (what the offline mirror holds); the zh: hashes are the registry's
    SHA-256 sums of every platform's zip, so a `terraform init` that downloads on another platform verifies too.
    """
    [terraform] = parse(INFRA / "versions.tf")["terraform"]
    [providers] = terraform["required_providers"]
    [locked] = parse(LOCK_FILE)["provider"]
    assert set(locked) == {LOCKED_PROVIDER}
    entry = locked[LOCKED_PROVIDER]
    assert entry["version"] == TESTED_PROVIDER
    assert allows(providers["aws"]["version"], entry["version"])
    hashes = entry["hashes"]
    assert [h for h in hashes if h.startswith("h1:")], "the mirror's package hash"
    assert len([h for h in hashes if h.startswith("zh:")]) >= 10, "the registry's checksums of every platform"
    assert all(re.fullmatch(r"h1:[A-Za-z0-9+/]{43}=|zh:[0-9a-f]{64}", h) for h in hashes)


# The S3 backend's use_lockfile came in Terraform 1.10, experimental, and became generally available in 1.11.0.
LOCKFILE_GA = "1.11.0"


def test_terraform_floor_is_the_version_the_runbooks_backend_needs() -> None:
    """The runbook's backend locks with use_lockfile: versions.tf accepts no Terraform older than 1.11, as the docs say.

    On 1.6 to 1.9 the backend cannot initialise, and on 1.10 the argument was still experimental.
    """
    assert re.search(r"use_lockfile\s*=\s*true", runbook_backend_block())
    [terraform] = parse(INFRA / "versions.tf")["terraform"]
    required = terraform["required_version"]
    assert not allows(required, "1.10.5")
    assert not allows(required, "1.9.8")
    assert allows(required, LOCKFILE_GA)
    assert allows(required, "1.11.4"), "the version the tests run"
    floor = ".".join(lower_bound(required).split(".")[:2])
    deploy = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"Terraform (\d+\.\d+) or newer", deploy) == [floor]
    assert re.findall(r"Terraform >= (\d+\.\d+)", readme) == [floor]


def test_provider_takes_credentials_from_the_standard_chain() -> None:
    """The root provider sets only the region and default tags, nothing about credentials."""
    [providers] = parse(INFRA / "main.tf")["provider"]
    assert set(providers["aws"]) == {"region", "default_tags"}


def test_deletion_protection_is_a_variable_that_defaults_on() -> None:
    """The table's deletion protection comes from a variable that is true unless changed."""
    table = typed(MODULES / "price_table", "resource")[("aws_dynamodb_table", "this")]
    assert table["deletion_protection_enabled"] == "${var.deletion_protection}"
    assert module_call("table")["deletion_protection"] == "${var.deletion_protection}"
    assert labelled(INFRA, "variable")["deletion_protection"]["default"] is True


def test_stream_mapping_handles_partial_failure_with_bounds_and_a_dead_letter_queue() -> None:
    """The mapping reports per-record failures, fails over to SQS, and takes its bounds from the contract."""
    mapping = typed(MODULES / "publisher", "resource")[("aws_lambda_event_source_mapping", "this")]
    scope = module_scope("publisher")
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["destination_config"] == [{"on_failure": [{"destination_arn": "${aws_sqs_queue.this.arn}"}]}]
    settings = {
        "batch_size": "batch_size",
        "maximum_retry_attempts": "maximum_retry_attempts",
        "maximum_record_age_in_seconds": "maximum_record_age_in_seconds",
        "starting_position": "starting_position",
        "bisect_batch_on_function_error": "bisect_batch_on_function_error",
    }
    # The same values the local stream runner uses when no mapping is deployed (gas_ops.mapping).
    assert {argument: scope.resolve(mapping[argument]) for argument in settings} == {
        argument: MAPPING[name] for argument, name in settings.items()
    }
    assert MAPPING["bisect_batch_on_function_error"] is True
    assert 0 <= MAPPING["maximum_retry_attempts"] <= 10
    queue = typed(MODULES / "publisher", "resource")[("aws_sqs_queue", "this")]
    assert queue.get("sqs_managed_sse_enabled") is True or "kms_master_key_id" in queue


def test_alarms_watch_the_dead_letter_queue_and_lambda_errors() -> None:
    """One alarm fires on a visible dead letter, one on function errors, and both notify the operator topic."""
    resources = typed(MODULES / "publisher", "resource")
    dead_letters = resources[("aws_cloudwatch_metric_alarm", "dead_letters")]
    errors = resources[("aws_cloudwatch_metric_alarm", "errors")]
    assert (dead_letters["metric_name"], dead_letters["threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)
    assert (errors["namespace"], errors["metric_name"], errors["threshold"]) == ("AWS/Lambda", "Errors", 0)
    for alarm in (dead_letters, errors):
        assert alarm["comparison_operator"] == "GreaterThanThreshold"
        assert alarm["alarm_actions"] == "${var.alarm_topic_arns}"
    assert module_call("publisher")["alarm_topic_arns"] == ["${module.operator.topic_arn}"]


def test_only_this_accounts_alarms_publish_to_the_operator_topic() -> None:
    """The operator topic's policy admits CloudWatch alarms of this account, and its key lets CloudWatch use it."""
    [publish] = policy_statements(MODULES / "operator_topic", "this")
    assert publish["actions"] == ["sns:Publish"]
    assert publish["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    [condition] = publish["condition"]
    assert (condition["test"], condition["variable"]) == ("ArnLike", "aws:SourceArn")
    key = labelled(MODULES / "operator_topic", "module")["key"]
    services = {service for s in key["service_statements"] for service in s["services"]}
    assert services == {"sns.amazonaws.com", "cloudwatch.amazonaws.com"}
