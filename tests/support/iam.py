"""IAM as AWS evaluates it, for the calls our code makes: each call's action, resource and condition keys, and a policy.

moto enforces none of this, so the least-privilege tests record the real calls (with a botocore-level hook) and
evaluate them here against the policies Terraform rendered. Only what our identity policies use is implemented:
Allow and Deny statements, Action and Resource with wildcards, and the condition operators StringEquals and
ForAllValues:StringEquals. Anything else is refused loudly, so a policy never passes by being misread.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from gas_publisher.contract import PARTITION_KEY

# IAM has no action for a transaction: each item is authorised as the operation it wraps (DynamoDB developer guide,
# "Using IAM with DynamoDB transactions"); a condition check is dynamodb:ConditionCheckItem.
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
# Operations that write table items (for the key use they imply, below).
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
# The KMS calls a service makes with the caller's permissions when the caller uses a resource encrypted with a
# customer managed key: DynamoDB decrypts the table key for every access, and for writes it may encrypt with a new
# data key (the actions AWS's key policy for DynamoDB names); SNS needs a data key for each published message and
# decrypts it (the actions AWS's SNS encryption guide names for publishers).
DYNAMODB_READ_KEY_USE = ("kms:Decrypt",)
DYNAMODB_WRITE_KEY_USE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
SNS_PUBLISH_KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")
SUPPORTED_OPERATORS = frozenset({"StringEquals", "ForAllValues:StringEquals"})


class UnsupportedPolicyError(ValueError):
    """The policy uses IAM syntax this evaluator does not implement; extend it before relying on the result."""


@dataclass(frozen=True)
class Call:
    """One authorisation AWS makes: who asks for which action on which resource, with the condition keys."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The API call it comes from, for the failure messages.
    operation: str = ""

    def describe(self) -> str:
        """'flow: dynamodb:PutItem on arn:... with dynamodb:LeadingKeys=wuxr-ni2i#late (from TransactWriteItems)'."""
        text = f"{self.principal}: {self.action} on {self.resource}"
        keys = "; ".join(f"{name}={','.join(values)}" for name, values in sorted(self.context.items()))
        if keys:
            text += f" with {keys}"
        return text + (f" (from {self.operation})" if self.operation else "")


@dataclass(frozen=True)
class Resources:
    """The ARNs of the stack, to name the resource of each call."""

    region: str
    tables: Mapping[str, str]
    table_keys: Mapping[str, str]
    streams: Mapping[str, str]
    topic_keys: Mapping[str, str]
    queues: Mapping[str, str]

    def table_of_stream(self, stream_arn: str) -> str:
        """The table a stream belongs to."""
        return next(table for table, stream in self.streams.items() if stream == stream_arn)

    def queue_named(self, name: str) -> str:
        """The ARN of the queue with this name (the name is the ARN's last part)."""
        return next((arn for arn in self.queues.values() if arn.rsplit(":", 1)[-1] == name), name)

    @property
    def alarms(self) -> str:
        """What a DescribeAlarms call is authorised against: every alarm of the account and region."""
        table_arn = next(iter(self.tables.values()))
        partition, account = table_arn.split(":")[1], table_arn.split(":")[4]
        return f"arn:{partition}:cloudwatch:{self.region}:{account}:alarm:*"


def authorisations(
    principal: str, service: str, operation: str, params: Mapping[str, Any], arns: Resources
) -> list[Call]:
    """The authorisations AWS makes for one API call, including the KMS use it implies."""
    calls: list[Call] = []
    if service == "dynamodb":
        calls += _dynamodb(principal, operation, params, arns)
    elif service == "dynamodbstreams":
        stream = str(params.get("StreamArn") or next(iter(arns.streams.values())))
        calls.append(Call(principal, f"dynamodb:{operation}", stream, operation=operation))
        key = arns.table_keys.get(arns.table_of_stream(stream))
        calls += _key_use(principal, key, DYNAMODB_READ_KEY_USE, f"dynamodb.{arns.region}.amazonaws.com", operation)
    elif service == "sns" and operation in {"Publish", "PublishBatch"}:
        topic = str(params["TopicArn"])
        calls.append(Call(principal, "sns:Publish", topic, operation=operation))
        calls += _key_use(
            principal, arns.topic_keys.get(topic), SNS_PUBLISH_KEY_USE, f"sns.{arns.region}.amazonaws.com", operation
        )
    elif service == "sns":
        calls.append(Call(principal, f"sns:{operation}", _sns_resource(operation, params), operation=operation))
    elif service == "sqs":
        if "QueueName" in params:
            queue = arns.queue_named(str(params["QueueName"]))
        else:
            queue = arns.queues.get(str(params.get("QueueUrl", "")), str(params.get("QueueUrl", "")))
        calls.append(Call(principal, f"sqs:{operation}", queue, operation=operation))
    elif service == "cloudwatch":
        calls.append(_cloudwatch(principal, operation, params, arns))
    else:
        # Lambda's ListEventSourceMappings, like any call without a resource-level permission, is authorised on "*".
        calls.append(Call(principal, f"{service}:{operation}", "*", operation=operation))
    return calls


def _sns_resource(operation: str, params: Mapping[str, Any]) -> str:
    """The ARN an SNS call is authorised against: its topic (a subscription's is the topic it belongs to), or "*"."""
    if "TopicArn" in params:
        return str(params["TopicArn"])
    if "SubscriptionArn" in params:
        # arn:aws:sns:region:account:topic:subscription-id; SNS's refusals name the topic.
        return str(params["SubscriptionArn"]).rsplit(":", 1)[0]
    return "*"  # ListTopics has no resource ARN


def _cloudwatch(principal: str, operation: str, params: Mapping[str, Any], arns: Resources) -> Call:
    """PutMetricData with its namespace condition key; DescribeAlarms on every alarm; the rest on "*"."""
    action = f"cloudwatch:{operation}"
    if operation == "PutMetricData":
        return Call(principal, action, "*", {"cloudwatch:namespace": (str(params["Namespace"]),)}, operation)
    if operation == "DescribeAlarms":
        # A call with AlarmNamePrefix is authorised against alarm:*, whatever the prefix.
        return Call(principal, action, arns.alarms, operation=operation)
    return Call(principal, action, "*", operation=operation)


def _dynamodb(principal: str, operation: str, params: Mapping[str, Any], arns: Resources) -> list[Call]:
    items: list[tuple[str, str, tuple[str, ...]]] = []  # (action, table, leading keys)
    if operation in {"TransactWriteItems", "TransactGetItems"}:
        for entry in params["TransactItems"]:
            [(kind, body)] = entry.items()
            items.append(
                (TRANSACT_ITEM_ACTIONS[kind], body["TableName"], (_partition(body.get("Item") or body["Key"]),))
            )
    elif operation in {"BatchGetItem", "BatchWriteItem"}:
        for table, request in params["RequestItems"].items():
            if operation == "BatchGetItem":
                keys = tuple(_partition(key) for key in request["Keys"])
            else:
                keys = tuple(
                    _partition(next(iter(write.values())).get("Item") or next(iter(write.values()))["Key"])
                    for write in request
                )
            items.append((f"dynamodb:{operation}", table, keys))
    elif operation == "Query":
        items.append((f"dynamodb:{operation}", params["TableName"], (_queried_partition(params),)))
    elif "Key" in params or "Item" in params:
        items.append((f"dynamodb:{operation}", params["TableName"], (_partition(params.get("Item") or params["Key"]),)))
    else:
        items.append((f"dynamodb:{operation}", params.get("TableName", "*"), ()))
    calls: list[Call] = []
    key_use = DYNAMODB_WRITE_KEY_USE if operation in DYNAMODB_WRITES else DYNAMODB_READ_KEY_USE
    for action, table, leading in items:
        context = {"dynamodb:LeadingKeys": leading} if leading else {}
        calls.append(Call(principal, action, arns.tables.get(table, table), context, operation))
        calls += _key_use(
            principal, arns.table_keys.get(table), key_use, f"dynamodb.{arns.region}.amazonaws.com", operation
        )
    return calls


def _key_use(principal: str, key: str | None, actions: Sequence[str], via: str, operation: str) -> list[Call]:
    if key is None:
        return []
    return [
        Call(principal, action, key, {"kms:ViaService": (via,)}, f"{operation}, through the service")
        for action in actions
    ]


def _partition(key: Mapping[str, Any]) -> str:
    return str(key[PARTITION_KEY]["S"])


def _queried_partition(params: Mapping[str, Any]) -> str:
    """The partition key value a Query's key condition names."""
    names = params.get("ExpressionAttributeNames", {})
    for name, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", params["KeyConditionExpression"]):
        if names.get(name, name) == PARTITION_KEY:
            return str(params["ExpressionAttributeValues"][placeholder]["S"])
    raise UnsupportedPolicyError(f"no partition key in {params['KeyConditionExpression']!r}")


# ---- recording ------------------------------------------------------------------------------------------------------


@dataclass
class CallRecorder:
    """Records, while a principal acts, every API call any botocore client in this process makes, as authorisations."""

    arns: Resources
    calls: list[Call] = field(default_factory=list)
    operations: set[tuple[str, str, str]] = field(default_factory=set)
    principal: str | None = None
    # Operations whose next call is applied, its response lost, and then sent once more (botocore's retry).
    lose_response: set[str] = field(default_factory=set)
    # Operations whose next call fails with this error code without reaching AWS.
    fail_next: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def acting_as(self, principal: str) -> Iterator[None]:
        """Record the calls made inside the block as `principal`'s (threads included)."""
        original: Callable[..., Any] = BaseClient._make_api_call  # type: ignore[attr-defined]
        recorder = self

        def recorded(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            if recorder.principal is not None:
                service = client.meta.service_model.service_name
                recorder.operations.add((recorder.principal, service, operation))
                recorder.calls += authorisations(recorder.principal, service, operation, params, recorder.arns)
                if operation in recorder.fail_next:
                    code = recorder.fail_next.pop(operation)
                    raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)
                if operation in recorder.lose_response:
                    recorder.lose_response.discard(operation)
                    with contextlib.suppress(Exception):  # the response is lost, whatever it was
                        original(client, operation, params)
            return original(client, operation, params)

        self.principal = principal
        BaseClient._make_api_call = recorded  # type: ignore[attr-defined]
        try:
            yield
        finally:
            BaseClient._make_api_call = original  # type: ignore[attr-defined]
            self.principal = None


# ---- evaluation -----------------------------------------------------------------------------------------------------


def statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The policy's statements, as a list whatever the JSON held."""
    found = policy["Statement"]
    return [found] if isinstance(found, dict) else list(found)


def _listed(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _matches(pattern: str, value: str, *, case: bool) -> bool:
    translated = fnmatch.translate(pattern if case else pattern.lower())
    return re.fullmatch(translated, value if case else value.lower()) is not None


def statement_applies(statement: Mapping[str, Any], call: Call) -> bool:
    """Whether a statement's Action, Resource and Condition all match the call."""
    for unsupported in ("NotAction", "NotResource", "Principal", "NotPrincipal"):
        if unsupported in statement:
            raise UnsupportedPolicyError(f"{unsupported} in an identity policy statement")
    if not any(_matches(action, call.action, case=False) for action in _listed(statement["Action"])):
        return False
    if not any(_matches(resource, call.resource, case=True) for resource in _listed(statement["Resource"])):
        return False
    return all(_condition(operator, tests, call) for operator, tests in statement.get("Condition", {}).items())


def _condition(operator: str, tests: Mapping[str, Any], call: Call) -> bool:
    if operator not in SUPPORTED_OPERATORS:
        raise UnsupportedPolicyError(f"condition operator {operator} is not implemented")
    for key, expected in tests.items():
        allowed = set(_listed(expected))
        present = call.context.get(key)
        if operator == "StringEquals":
            # A single-valued key: missing means the condition does not match.
            if present is None or len(present) != 1 or present[0] not in allowed:
                return False
        elif present is not None and not set(present) <= allowed:
            # ForAllValues: every value must be allowed; a missing key or an empty set matches (AWS's rule).
            return False
    return True


def allowed(policy: Mapping[str, Any], call: Call) -> bool:
    """Whether the policy allows the call: some Allow applies and no Deny does."""
    applying = [statement for statement in statements(policy) if statement_applies(statement, call)]
    return any(s["Effect"] == "Allow" for s in applying) and not any(s["Effect"] == "Deny" for s in applying)


def denied(policy: Mapping[str, Any], calls: Sequence[Call]) -> list[Call]:
    """The calls the policy does not allow, each once."""
    refused = {call.describe(): call for call in calls if not allowed(policy, call)}
    return [refused[text] for text in sorted(refused)]


def granted_actions(policy: Mapping[str, Any]) -> set[str]:
    """Every action an Allow statement names."""
    return {action for s in statements(policy) if s["Effect"] == "Allow" for action in _listed(s["Action"])}


def unused(policy: Mapping[str, Any], calls: Sequence[Call]) -> set[str]:
    """The granted actions that no call needs."""
    needed = {call.action.lower() for call in calls}
    return {
        action for action in granted_actions(policy) if not any(_matches(action, used, case=False) for used in needed)
    }
