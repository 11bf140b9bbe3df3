"""Terraform agrees with the code: table schema, stream, filter file, handler, environment, attributes, names."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import hcl2
import pytest

from gas_alerts.settings import ENVIRONMENT
from gas_local.package import DEFAULT_OUTPUT, DEFAULT_SOURCE, build_package, zip_bytes
from gas_publisher import contract
from tests.support.hcl import (
    INFRA,
    REPO,
    ROOT,
    labelled,
    module_call,
    module_scope,
    parse,
    resource,
    unquote,
)
from tests.support.terraform import example_subscribers, subscriber_filter

HANDLER_SOURCE = REPO / "lambda" / "gas_publisher" / "handler.py"
# Set by the Lambda runtime itself (reserved names), so Terraform must not and need not set them.
RUNTIME_PROVIDED = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})
# Only set when the handler runs against moto or LocalStack; boto3 reads it on its own.
LOCAL_ONLY = frozenset({"AWS_ENDPOINT_URL"})
STREAM_VIEWS_WITH_NEW_IMAGE = frozenset({"NEW_IMAGE", "NEW_AND_OLD_IMAGES"})


def table_value(argument: str) -> object:
    """The value a price table argument gets once the root module's inputs are substituted."""
    return module_scope("table").resolve(resource("price_table", "aws_dynamodb_table")[argument])


def test_table_key_names_match_the_contract() -> None:
    """The table's partition and sort keys are the attribute names contract.json gives."""
    assert (table_value("hash_key"), table_value("range_key")) == (contract.PARTITION_KEY, contract.SORT_KEY)


def test_table_key_attributes_have_the_contract_type() -> None:
    """Both key attributes are declared with the contract's key type, and nothing else is declared."""
    scope = module_scope("table")
    attributes = {
        scope.resolve(a["name"]): scope.resolve(a["type"])
        for a in resource("price_table", "aws_dynamodb_table")["attribute"]
    }
    assert attributes == {contract.PARTITION_KEY: contract.KEY_TYPE, contract.SORT_KEY: contract.KEY_TYPE}


def test_stream_view_type_matches_the_contract() -> None:
    """The table stream carries the view type contract.json names, with the stream switched on."""
    assert table_value("stream_enabled") is True
    assert table_value("stream_view_type") == contract.STREAM_VIEW_TYPE


def test_stream_view_carries_the_new_image_the_handler_reads() -> None:
    """The handler parses NewImage, so the stream view type must include new images."""
    assert '"NewImage"' in HANDLER_SOURCE.read_text(encoding="utf-8")
    assert table_value("stream_view_type") in STREAM_VIEWS_WITH_NEW_IMAGE


def test_table_key_schema_is_read_from_the_contract_file() -> None:
    """The root passes the key schema as references into local.contract, never as copied literals."""
    call = module_call("table")
    for argument in ("partition_key", "sort_key", "key_type", "stream_view_type"):
        assert call[argument] == f"${{local.contract.table.{argument}}}"


def test_terraform_reads_the_stream_filter_file_the_local_runner_loads() -> None:
    """The filter file Terraform reads is contract.STREAM_FILTER_PATH, which the local stream runner applies."""
    terraform_path = Path(ROOT.lookup("local.stream_filter_file")).resolve()
    assert terraform_path == contract.STREAM_FILTER_PATH.resolve()
    assert module_call("publisher")["stream_filter_pattern"] == "${jsondecode(file(local.stream_filter_file))}"
    assert module_scope("publisher").lookup("var.stream_filter_pattern") == contract.stream_filter_pattern()


def test_lambda_handler_is_the_contract_handler() -> None:
    """The function's handler is contract.HANDLER, passed by reference into the module."""
    assert module_call("publisher")["handler"] == "${local.contract.lambda.handler}"
    function = resource("publisher", "aws_lambda_function")
    assert module_scope("publisher").resolve(function["handler"]) == contract.HANDLER


def test_terraform_deploys_the_zip_make_package_writes() -> None:
    """The root's default package path is where `python -m gas_local.package` writes, and the function deploys it."""
    assert Path(ROOT.lookup("local.default_lambda_package")).resolve() == DEFAULT_OUTPUT.resolve()
    assert labelled(INFRA, "variable")["lambda_package_path"]["default"] is None
    assert module_call("publisher")["package_path"] == "${local.lambda_package}"
    function = resource("publisher", "aws_lambda_function")
    assert function["filename"] == "${var.package_path}"
    assert function["source_code_hash"] == "${filebase64sha256(var.package_path)}"


def test_make_package_writes_the_zip_terraform_deploys() -> None:
    """`make package`, as the runbook gives it, writes the deterministic zip where Terraform looks for it."""
    make = shutil.which("make")
    assert make, "make is on PATH, as the README requires"
    subprocess.run(  # noqa: S603 (fixed argv)
        [make, "--no-print-directory", "package"], cwd=REPO, check=True, capture_output=True, timeout=120
    )
    assert DEFAULT_OUTPUT.read_bytes() == zip_bytes(DEFAULT_SOURCE)


def test_lambda_handler_is_in_the_built_package(tmp_path: Path) -> None:
    """The zip holds the handler's module, which defines the handler function, and the contract file next to it."""
    output = tmp_path / "publisher.zip"
    build_package(DEFAULT_SOURCE, output)
    module_path, function_name = contract.HANDLER.rsplit(".", 1)
    handler_entry = module_path.replace(".", "/") + ".py"
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())
        tree = ast.parse(archive.read(handler_entry).decode("utf-8"))
    assert f"gas_publisher/{contract.CONTRACT_PATH.name}" in names
    assert f"gas_publisher/{contract.STREAM_FILTER_PATH.name}" in names
    assert function_name in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def environ_names_read(source: str) -> set[str]:
    """Names a module reads as environ["X"] or environ.get("X"), X a literal or a contract.ENV_* constant."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            names.add(_name_of(node.slice))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and _is_environ(node.func.value)
            and node.args
        ):
            names.add(_name_of(node.args[0]))
    return names


def _name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.Name) and node.id.startswith("ENV_"):
        return str(getattr(contract, node.id))
    return f"<unresolved {ast.unparse(node)}>"


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "environ") or (
        isinstance(node, ast.Attribute) and node.attr == "environ"
    )


def publisher_environment() -> dict[str, str]:
    """The publisher's environment as the root passes it: each name, read from the contract, to its expression."""
    return {
        str(ROOT.resolve("${" + name.removeprefix("${(").removesuffix(")}") + "}")): value
        for name, value in module_call("publisher")["environment"].items()
    }


def test_environment_names_match_the_contract() -> None:
    """The function's environment names, read through local.contract, are exactly contract.HANDLER_ENVIRONMENT."""
    assert sorted(publisher_environment()) == sorted(contract.HANDLER_ENVIRONMENT)


def test_environment_names_are_the_ones_the_handler_reads() -> None:
    """The handler reads exactly the variables Terraform sets, besides those the runtime provides or local-only ones."""
    read = environ_names_read(HANDLER_SOURCE.read_text(encoding="utf-8"))
    assert {"TABLE_NAME", "TOPIC_ARN"} <= read, "the scan no longer finds the handler's reads"
    assert read - RUNTIME_PROVIDED - LOCAL_ONLY == set(publisher_environment())
    assert not set(publisher_environment()) & RUNTIME_PROVIDED


def documented_examples() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each subscriber entry infra/README.md shows with the filter policy it says the entry gets."""
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\{ email = .*?\})` \| `(\{.*?\})` \|", readme, re.MULTILINE)
    return [(hcl2.loads(f"entry = {entry}\n")["entry"], json.loads(policy)) for entry, policy in rows]


def test_documented_filter_policies_are_what_subscriber_filter_builds() -> None:
    """Every example policy in infra/README.md's table is SubscriberFilter(...).policy() of the entry beside it."""
    examples = documented_examples()
    assert len(examples) >= 4, "the README no longer shows its table of subscriber examples"
    for entry, documented in examples:
        assert subscriber_filter(unquote(entry)).policy() == documented, entry


def test_example_subscribers_are_valid_for_the_python_helper() -> None:
    """Each subscriber of terraform.tfvars.example gives a policy SubscriberFilter accepts, and it shows each kind."""
    example = parse(INFRA / "terraform.tfvars.example")
    subscribers = example_subscribers()
    policies = [subscriber_filter(subscriber).policy() for subscriber in subscribers]
    digests = [policy for subscriber, policy in zip(subscribers, policies, strict=True) if subscriber.get("digest")]
    assert {} in digests, "the example's subscriber to every drop takes the digest"
    assert any(s.get("digest") and s.get("min_regions_fallen") == 5 for s in subscribers)
    assert any(not s.get("digest") and ("max_price" in s or "min_low_weeks" in s) for s in subscribers)
    alerts = [policy for subscriber, policy in zip(subscribers, policies, strict=True) if not subscriber.get("digest")]
    assert all(alerts), "a subscriber to every alert should take the digest instead"
    assert set(example) <= set(labelled(INFRA, "variable")), "the example sets a variable the stack does not have"


SETTINGS_DEFAULTS = {name: default for name, default, _ in ENVIRONMENT}


@pytest.mark.parametrize(
    ("local_name", "setting"),
    [
        ("table_name", "GAS_ALERTS_TABLE"),
        ("topic_name", "GAS_ALERTS_TOPIC"),
        ("digest_topic_name", "GAS_ALERTS_DIGEST_TOPIC"),
        ("dead_letter_queue", "GAS_ALERTS_DLQ"),
    ],
)
def test_default_names_are_the_code_defaults(local_name: str, setting: str) -> None:
    """With the default name_prefix, each resource gets the name the flow uses when its variable is unset."""
    assert ROOT.lookup(f"local.{local_name}") == SETTINGS_DEFAULTS[setting]


def test_resources_use_the_default_names() -> None:
    """The table, both topics and the dead-letter queue are named from those locals."""
    assert module_scope("table").lookup("var.name") == SETTINGS_DEFAULTS["GAS_ALERTS_TABLE"]
    assert module_scope("alerts").lookup("var.name") == SETTINGS_DEFAULTS["GAS_ALERTS_TOPIC"]
    assert module_scope("digest").lookup("var.name") == SETTINGS_DEFAULTS["GAS_ALERTS_DIGEST_TOPIC"]
    assert module_scope("publisher").lookup("var.dead_letter_queue_name") == SETTINGS_DEFAULTS["GAS_ALERTS_DLQ"]


def test_prefect_environment_output_uses_variables_the_flow_reads() -> None:
    """Every GAS_ALERTS_* name in the prefect_environment output is one gas_alerts/settings.py reads."""
    value = labelled(INFRA, "output")["prefect_environment"]["value"]
    names = {name for name in value if name.startswith("GAS_ALERTS_")}
    assert names
    assert names <= set(SETTINGS_DEFAULTS)


def test_readme_lists_exactly_the_contract_region_ids() -> None:
    """The region ids infra/README.md offers for subscribers are the contract's, so the guide cannot go stale."""
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"`regions` takes region ids from .*?:(.*?)\. An", readme, re.DOTALL)
    assert listed, "the README no longer lists the region ids"
    assert re.findall(r"`([a-z_]+)`", listed.group(1)) == list(contract.REGION_IDS)
