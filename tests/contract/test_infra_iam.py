"""IAM in infra/ allows what the flow and the publisher call, on their own resources, and nothing more."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

from gas_publisher.contract import LATE_PARTITION, METRIC_NAMESPACE, PRICE_PARTITION, SENT_PARTITION
from tests.support.hcl import (
    ALL_DIRS,
    INFRA,
    MODULES,
    REPO,
    ROOT,
    labelled,
    module_call,
    module_scope,
    policy_statements,
    typed,
)

LAMBDA_PACKAGE = REPO / "lambda" / "gas_publisher"
# Actions granted to the flow ahead of code that calls them: none (the backfill writes with conditional puts).
ANTICIPATED_FLOW_ACTIONS: frozenset[str] = frozenset()


def flow_side_files() -> list[Path]:
    """The modules a flow run executes: gas_alerts/ except the local AWS stand-ins, tasks/ and flows/."""
    files = [path for path in (REPO / "gas_alerts").rglob("*.py") if "local" not in path.relative_to(REPO).parts[1:]]
    return sorted([*files, *(REPO / "tasks").rglob("*.py"), *(REPO / "flows").rglob("*.py")])


@cache
def operations(service: str) -> dict[str, str]:
    """The service's operations as boto3 method name -> API name (put_item -> PutItem)."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


# IAM has no action for a transaction: each item is authorised as the operation it wraps (DynamoDB developer guide,
# "Using IAM with DynamoDB transactions"). The wrapping key of each item in the request names that operation.
TRANSACT_WRITE_ITEMS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
TRANSACT_GET_ITEMS = {"Get": "GetItem"}


def transaction_actions(operation: str, tree: ast.AST) -> set[str]:
    """The operations a transaction call needs, read from the item keys ({"Put": ...}) built in the same code."""
    kinds = TRANSACT_WRITE_ITEMS if operation == "TransactWriteItems" else TRANSACT_GET_ITEMS
    keys = {
        key.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        for key in node.keys
        if isinstance(key, ast.Constant) and key.value in kinds
    }
    # When the item kinds cannot be seen, require every kind, so the policy is reviewed rather than guessed.
    return {kinds[key] for key in keys} or set(kinds.values())


@dataclass(frozen=True)
class CallScanner:
    """Finds the API operations of one service that Python code calls, following helpers imported from the Lambda."""

    service: str

    def in_files(self, files: list[Path]) -> set[str]:
        """API operation names called anywhere in these files."""
        trees = [ast.parse(path.read_text(encoding="utf-8")) for path in files]
        return {op for tree in trees for op in self.in_tree(tree, tree, set())}

    def in_tree(self, tree: ast.AST, module: ast.Module, seen: set[tuple[Path, str]]) -> set[str]:
        """Operations called in a syntax tree of a module, including inside gas_publisher helpers it calls."""
        known = operations(self.service)
        imported = _imported_lambda_functions(module)
        found: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            method = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if method in {"transact_write_items", "transact_get_items"} and self.service == "dynamodb":
                found |= transaction_actions(known[method], tree)
            elif method in known:
                found.add(known[method])
            elif method in {"get_paginator", "get_waiter"} and node.args and isinstance(node.args[0], ast.Constant):
                found |= self._paginator_or_waiter(method, str(node.args[0].value))
            elif isinstance(node.func, ast.Name) and node.func.id in imported:
                target = imported[node.func.id]
                if target not in seen:
                    seen.add(target)
                    helper_module = ast.parse(target[0].read_text(encoding="utf-8"))
                    found |= self.in_tree(_definition(helper_module, target[1]), helper_module, seen)
        return found

    def _paginator_or_waiter(self, method: str, name: str) -> set[str]:
        if method == "get_paginator":
            # A paginator of another service's client (SNS's list_subscriptions_by_topic) is not this service's.
            return {operations(self.service)[name]} if name in operations(self.service) else set()
        model = botocore.session.get_session().get_waiter_model(self.service)
        return {model.get_waiter("".join(part.title() for part in name.split("_"))).operation}


def _imported_lambda_functions(module: ast.Module) -> dict[str, tuple[Path, str]]:
    """Local names bound by `from gas_publisher.x import f` in a module, mapped to the defining file and name."""
    imports: dict[str, tuple[Path, str]] = {}
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gas_publisher."):
            source = LAMBDA_PACKAGE / (node.module.removeprefix("gas_publisher.").replace(".", "/") + ".py")
            for alias in node.names:
                imports[alias.asname or alias.name] = (source, alias.name)
    return imports


def _definition(module: ast.Module, name: str) -> ast.AST:
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            return node
    return ast.Module(body=[], type_ignores=[])  # a constant, not a function: no calls


# IAM authorises these operations under another operation's action.
AUTHORISED_BY = {"sns:PublishBatch": "sns:Publish"}


def iam_actions(service_prefix: str, api_names: set[str]) -> set[str]:
    """IAM action names of API operations (DynamoDB and SNS name actions after the operations)."""
    return {AUTHORISED_BY.get(f"{service_prefix}:{name}", f"{service_prefix}:{name}") for name in api_names}


def statement(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    """The statement with this Sid."""
    [found] = [s for s in statements if s.get("sid") == sid]
    return found


def all_statements() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """Every statement of every policy document in the stack, with its folder and document name."""
    for directory in ALL_DIRS:
        for (type_, name), body in typed(directory, "data").items():
            if type_ == "aws_iam_policy_document":
                for item in body.get("statement", []):
                    yield directory, name, item


FLOW_STATEMENT = "PriceTableCallsOfTheFlow"


def test_scanner_sees_the_flow_calls_it_must_see() -> None:
    """The AST scan finds the Query, PutItem and UpdateItem of gas_alerts/store.py, so an empty scan cannot pass."""
    found = CallScanner("dynamodb").in_files(flow_side_files())
    assert {"Query", "PutItem", "UpdateItem"} <= found


def test_scanner_follows_helpers_imported_from_the_lambda_package() -> None:
    """Calling gas_publisher.batching.batch_get counts as BatchGetItem, beside the ledger's own UpdateItem calls."""
    ledger = LAMBDA_PACKAGE / "ledger.py"
    assert CallScanner("dynamodb").in_files([ledger]) == {"BatchGetItem", "UpdateItem"}


def test_scanner_counts_a_transaction_as_the_operations_it_wraps() -> None:
    """TransactWriteItems of Put and Update items needs PutItem and UpdateItem, the actions IAM checks per item."""
    source = """
def write(client, table):
    items = [{"Put": {"TableName": table}}, {"Update": {"TableName": table}}]
    client.transact_write_items(TransactItems=items)
"""
    tree = ast.parse(source)
    assert CallScanner("dynamodb").in_tree(tree, tree, set()) == {
        "PutItem",
        "UpdateItem",
    }


def test_flow_runner_policy_allows_every_dynamodb_call_the_flow_makes() -> None:
    """Each DynamoDB operation called by flow-side code is an allowed action of the flow runner policy."""
    used = iam_actions("dynamodb", CallScanner("dynamodb").in_files(flow_side_files()))
    allowed = set(statement(policy_statements(INFRA, "flow_runner"), FLOW_STATEMENT)["actions"])
    assert used - allowed == set(), "the flow calls DynamoDB operations its policy does not allow"


def test_flow_runner_policy_allows_nothing_the_flow_does_not_call() -> None:
    """The flow's policy allows no DynamoDB action the flow does not call."""
    used = iam_actions("dynamodb", CallScanner("dynamodb").in_files(flow_side_files()))
    statements = policy_statements(INFRA, "flow_runner")
    dynamodb_actions = {a for s in statements for a in s["actions"] if a.startswith("dynamodb:")}
    assert dynamodb_actions - used <= ANTICIPATED_FLOW_ACTIONS


def test_flow_runner_policy_is_limited_to_this_table_and_the_partitions_the_check_writes() -> None:
    """The flow runner may touch only this table's week and late partitions, never the publisher's sent ledger."""
    flow = statement(policy_statements(INFRA, "flow_runner"), FLOW_STATEMENT)
    assert flow["resources"] == ["${module.table.table_arn}"]
    [condition] = flow["condition"]
    assert (condition["test"], condition["variable"]) == ("ForAllValues:StringEquals", "dynamodb:LeadingKeys")
    assert [ROOT.resolve(value) for value in condition["values"]] == [PRICE_PARTITION, LATE_PARTITION]
    assert SENT_PARTITION not in [ROOT.resolve(value) for value in condition["values"]]


def test_flow_runner_policy_has_no_other_service_actions() -> None:
    """Besides its DynamoDB calls the flow runner gets the table key through DynamoDB, and its heartbeat metric."""
    statements = policy_statements(INFRA, "flow_runner")
    others = [s for s in statements if not all(a.startswith("dynamodb:") for a in s["actions"])]
    assert [s["sid"] for s in others] == ["UseTableKeyThroughDynamoDB", "ReportEachCompletedCheck"]
    key, heartbeat = others
    assert key["resources"] == ["${module.table.kms_key_arn}"]
    assert set(key["actions"]) <= {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}
    [condition] = key["condition"]
    assert condition["variable"] == "kms:ViaService"
    assert condition["values"] == ["dynamodb.${var.aws_region}.amazonaws.com"]
    assert_only_the_products_metrics(heartbeat, ROOT)


def assert_only_the_products_metrics(grant: dict[str, Any], scope: Any) -> None:
    """PutMetricData alone, on "*" (it has no resource ARN), and only in contract.json's namespace."""
    assert (grant["actions"], grant["resources"]) == (["cloudwatch:PutMetricData"], ["*"])
    [condition] = grant["condition"]
    assert (condition["test"], condition["variable"]) == ("StringEquals", "cloudwatch:namespace")
    assert [scope.resolve(value) for value in condition["values"]] == [METRIC_NAMESPACE]


def test_the_flow_and_the_publisher_put_the_metrics_their_policies_allow() -> None:
    """The flow's code puts metrics (the heartbeat) and so does the publisher's (the sweep), in the one namespace."""
    assert CallScanner("cloudwatch").in_files(flow_side_files()) == {"PutMetricData"}
    assert CallScanner("cloudwatch").in_files(sorted(LAMBDA_PACKAGE.glob("*.py"))) == {"PutMetricData"}
    grant = statement(policy_statements(MODULES / "publisher", "permissions"), "PutTheSweepMetric")
    assert_only_the_products_metrics(grant, module_scope("publisher"))


PUBLISHER_TABLE_STATEMENTS = {
    "WriteOnlyTheSentLedger": ({"dynamodb:UpdateItem"}, [SENT_PARTITION]),
    "ReadTheSentLedger": ({"dynamodb:BatchGetItem"}, [SENT_PARTITION]),
    "ReadTheNewestWeeksToSweep": ({"dynamodb:Query"}, [PRICE_PARTITION, LATE_PARTITION]),
}


def test_publisher_writes_only_the_sent_ledger_and_reads_only_what_the_sweep_needs() -> None:
    """The Lambda writes and batch-reads the ledger partition alone; it queries the week and late items to sweep."""
    statements = policy_statements(MODULES / "publisher", "permissions")
    assert module_call("publisher")["table_arn"] == "${module.table.table_arn}"
    scope = module_scope("publisher")
    for sid, (actions, partitions) in PUBLISHER_TABLE_STATEMENTS.items():
        grant = statement(statements, sid)
        assert (set(grant["actions"]), grant["resources"]) == (actions, ["${var.table_arn}"])
        [condition] = grant["condition"]
        assert (condition["test"], condition["variable"]) == ("ForAllValues:StringEquals", "dynamodb:LeadingKeys")
        assert [scope.resolve(value) for value in condition["values"]] == partitions


def test_publisher_dynamodb_actions_are_exactly_what_its_code_calls() -> None:
    """The Lambda code's DynamoDB calls are exactly its table statements' actions (the stream is read by Lambda)."""
    used = iam_actions("dynamodb", CallScanner("dynamodb").in_files(sorted(LAMBDA_PACKAGE.glob("*.py"))))
    assert used == {action for actions, _ in PUBLISHER_TABLE_STATEMENTS.values() for action in actions}


def test_publisher_publishes_only_to_the_alert_and_digest_topics() -> None:
    """The Lambda calls PublishBatch, which sns:Publish authorises, on the alert topic and the digest topic only."""
    used = CallScanner("sns").in_files(sorted(LAMBDA_PACKAGE.glob("*.py")))
    assert "PublishBatch" in used
    # Publisher.publish() also matches the SNS Publish operation by name; either way sns:Publish is the action.
    assert iam_actions("sns", used) == {"sns:Publish"}
    statements = policy_statements(MODULES / "publisher", "permissions")
    publishing = {s["sid"]: s["resources"] for s in statements if any(a.startswith("sns:") for a in s["actions"])}
    assert publishing == {
        "PublishToTheAlertTopic": ["${var.topic_arn}"],
        "PublishToTheDigestTopic": ["${var.digest_topic_arn}"],
    }
    assert all(statement(statements, sid)["actions"] == ["sns:Publish"] for sid in publishing)
    call = module_call("publisher")
    assert (call["topic_arn"], call["digest_topic_arn"]) == ("${module.alerts.topic_arn}", "${module.digest.topic_arn}")


def test_publisher_uses_each_topic_key_only_through_sns() -> None:
    """The publisher may use the alert and the digest topic's keys, each only for calls SNS makes on its behalf."""
    statements = policy_statements(MODULES / "publisher", "permissions")
    for sid, key in (
        ("UseTopicKeyThroughSns", "topic_kms_key_arn"),
        ("UseDigestTopicKeyThroughSns", "digest_topic_kms_key_arn"),
    ):
        grant = statement(statements, sid)
        assert grant["resources"] == [f"${{var.{key}}}"]
        assert set(grant["actions"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
        [condition] = grant["condition"]
        assert (condition["variable"], condition["values"]) == (
            "kms:ViaService",
            ["sns.${var.aws_region}.amazonaws.com"],
        )
    call = module_call("publisher")
    assert (call["topic_kms_key_arn"], call["digest_topic_kms_key_arn"]) == (
        "${module.alerts.kms_key_arn}",
        "${module.digest.kms_key_arn}",
    )


def test_publisher_reads_only_this_table_stream() -> None:
    """The stream-reading actions are scoped to this table's stream; ListStreams alone uses "*"."""
    statements = policy_statements(MODULES / "publisher", "permissions")
    read = statement(statements, "ReadThisTableStream")
    assert set(read["actions"]) == {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
    assert read["resources"] == ["${var.stream_arn}"]
    assert statement(statements, "ListStreams") == {
        "sid": "ListStreams",
        "actions": ["dynamodb:ListStreams"],
        "resources": ["*"],
    }


def test_publisher_writes_only_its_queue_and_log_group() -> None:
    """Dead letters go only to the module's queue, and logs only to the function's own log group."""
    statements = policy_statements(MODULES / "publisher", "permissions")
    assert statement(statements, "SendFailedBatchesToTheDeadLetterQueue")["resources"] == ["${aws_sqs_queue.this.arn}"]
    logs = statement(statements, "WriteOwnLogGroup")
    assert set(logs["actions"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert logs["resources"] == ["${aws_cloudwatch_log_group.this.arn}:*"]


def test_no_policy_allows_a_wildcard_action_outside_key_policies() -> None:
    """Only key policies (whose "*" means the key itself) hold kms:*; no other statement has a wildcard action."""
    key_policies = {(MODULES / "kms_key", "this")}
    for directory, name, item in all_statements():
        wildcard = [a for a in item.get("actions", []) if a == "*" or a.endswith(":*")]
        if wildcard:
            assert (directory, name) in key_policies, f"{name} in {directory.name} allows {wildcard}"
            assert item["sid"] == "AccountAdministersKeyThroughIam"


def test_key_policies_let_services_use_keys_only_where_needed() -> None:
    """Only the documented services get key statements: Logs for the function's own log group, SNS for this account."""
    grants = {
        (directory.name, name): call.get("service_statements", [])
        for directory in ALL_DIRS
        for name, call in labelled(directory, "module").items()
        if call["source"] == "../kms_key"
    }
    assert grants[("price_table", "key")] == []
    [logs] = grants[("publisher", "log_key")]
    assert logs["services"] == ["logs.${var.aws_region}.amazonaws.com"]
    assert logs["conditions"] == [
        {"test": "ArnEquals", "variable": "kms:EncryptionContext:aws:logs:arn", "values": ["${local.log_group_arn}"]}
    ]
    for topic in ("subscriber_topic", "operator_topic"):
        sns = statement(grants[(topic, "key")], "SnsUsesKeyForThisAccount")
        assert [c["variable"] for c in sns["conditions"]] == ["aws:SourceAccount"]
    assert {s["sid"] for s in grants[("subscriber_topic", "key")]} == {"SnsUsesKeyForThisAccount"}
