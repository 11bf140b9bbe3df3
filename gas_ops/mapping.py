"""The event source mapping to emulate: the one deployed on the table's stream, or the contract's defaults.

When Terraform made the stack, the Lambda API describes its mapping (batch size, filters, starting position,
retries, bisecting, per-record failures, on-failure destination) and its function (CodeSha256, handler, environment,
timeout); the local runner then behaves as that mapping and runs that function's own package. Without one (moto
provisioned by `gas-alerts local provision`), it uses the same defaults the Terraform variables take.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from botocore.exceptions import ClientError

from gas_alerts.failures import DENIED, error_code
from gas_publisher.contract import MAPPING, stream_filter_pattern
from gas_publisher.event_filter import check_pattern

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

StartingPosition = Literal["TRIM_HORIZON", "LATEST"]
# Lambda's -1 means "until the record expires"; locally that is a bound far beyond any real retry count.
UNBOUNDED_RETRIES = 10_000


@dataclass(frozen=True)
class MappingSettings:
    """What decides how the stream reaches the function."""

    batch_size: int = MAPPING["batch_size"]
    patterns: tuple[Mapping[str, Any], ...] = field(default_factory=lambda: (stream_filter_pattern(),))
    starting_position: StartingPosition = MAPPING["starting_position"]
    max_retry_attempts: int = MAPPING["maximum_retry_attempts"]
    bisect_on_error: bool = MAPPING["bisect_batch_on_function_error"]
    report_batch_item_failures: bool = True
    on_failure_arn: str = ""
    function_arn: str = ""
    maximum_record_age_seconds: int | None = MAPPING["maximum_record_age_in_seconds"]

    @classmethod
    def from_api(cls, mapping: Mapping[str, Any]) -> MappingSettings:
        """Read a mapping as the Lambda API describes it."""
        filters = mapping.get("FilterCriteria", {}).get("Filters", [])
        retries = int(mapping.get("MaximumRetryAttempts", -1))
        age = int(mapping.get("MaximumRecordAgeInSeconds", -1))
        return cls(
            batch_size=int(mapping.get("BatchSize", MAPPING["batch_size"])),
            patterns=tuple(_checked(json.loads(item["Pattern"])) for item in filters) or ({},),
            starting_position=cast("StartingPosition", mapping.get("StartingPosition", "TRIM_HORIZON")),
            max_retry_attempts=UNBOUNDED_RETRIES if retries < 0 else retries,
            bisect_on_error=bool(mapping.get("BisectBatchOnFunctionError", False)),
            report_batch_item_failures="ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
            on_failure_arn=mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", ""),
            function_arn=str(mapping.get("FunctionArn", "")),
            # Lambda's -1 means no limit (the stream's own 24 hours).
            maximum_record_age_seconds=None if age < 0 else age,
        )


def _checked(pattern: Any) -> Mapping[str, Any]:
    """A deployed filter pattern, refused as CreateEventSourceMapping on AWS would refuse it."""
    check_pattern(pattern)
    checked: Mapping[str, Any] = pattern
    return checked


def deployed_mapping(client: LambdaClient, stream_arn: str) -> Mapping[str, Any] | None:
    """The enabled event source mapping reading this stream, if one is deployed."""
    try:
        pages = client.get_paginator("list_event_source_mappings").paginate()
        mappings = [mapping for page in pages for mapping in page.get("EventSourceMappings", [])]
    except ClientError as error:
        if error_code(error) in DENIED:
            raise  # a refusal is the operator's to fix, not a stack without a mapping
        return None  # an endpoint without a Lambda API has no mapping either
    reading = [m for m in mappings if m.get("EventSourceArn") == stream_arn and m.get("State", "Enabled") == "Enabled"]
    return reading[0] if reading else None


def sqs_destination(arn: str, queue_url: Callable[[str], str]) -> str:
    """The URL of an SQS on-failure destination given by its ARN (the only kind the stack uses)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "sqs":
        raise ValueError(f"the mapping's on-failure destination {arn} is not an SQS queue")
    return queue_url(parts[-1])
