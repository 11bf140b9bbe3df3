"""What the operator's CloudWatch namespace holds for one stack: how many data points a metric got, and their sum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gas_alerts import aws
from gas_publisher.contract import METRIC_DIMENSION, METRIC_NAMESPACE

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import MetricDataQueryTypeDef, MetricTypeDef

# One period spans the whole range, so each statistic covers every data point put (moto keeps them all).
SPAN = timedelta(days=400)


def samples(table: str, metric: str) -> tuple[int, float]:
    """How many data points a stack's metric received, and their sum (0, 0.0 when none)."""
    now = datetime.now(UTC)
    metric_id: MetricTypeDef = {
        "Namespace": METRIC_NAMESPACE,
        "MetricName": metric,
        "Dimensions": [{"Name": METRIC_DIMENSION, "Value": table}],
    }
    queries: list[MetricDataQueryTypeDef] = [
        {
            "Id": statistic.lower(),
            "MetricStat": {"Metric": metric_id, "Period": int(SPAN.total_seconds()), "Stat": statistic},
        }
        for statistic in ("SampleCount", "Sum")
    ]
    response = aws.cloudwatch().get_metric_data(
        MetricDataQueries=queries,
        StartTime=now - SPAN + timedelta(days=1),
        EndTime=now + timedelta(days=1),
    )
    found = {result["Id"]: sum(result.get("Values", [])) for result in response["MetricDataResults"]}
    return int(found.get("samplecount", 0)), float(found.get("sum", 0.0))
