"""The CloudWatch metrics the operator's alarms watch, put in the contract's namespace in one call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from gas_publisher.contract import METRIC_DIMENSION, METRIC_NAMESPACE

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef


def put_metrics(client: CloudWatchClient, table: str, values: Mapping[str, float]) -> None:
    """Put each metric's value (name -> value) of the stack whose table this is, all in one PutMetricData call."""
    dimensions: list[DimensionTypeDef] = [{"Name": METRIC_DIMENSION, "Value": table}]
    client.put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Value": float(value), "Unit": "Count"}
            for name, value in values.items()
        ],
    )
