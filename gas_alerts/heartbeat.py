"""The check's heartbeat: each completed check tells CloudWatch it ran and how old the source's newest week is.

An alarm on `CheckSucceeded` that treats missing data as breaching tells the operator when checks stop (a worker
that does not come back, an expired key); one on `SourceAgeDays` tells when the source stops publishing while the
checks go on saying "No new week".
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from gas_publisher.contract import (
    DATASET_PAGE_URL,
    METRIC_CHECK_SUCCEEDED,
    METRIC_SOURCE_AGE_DAYS,
    SOURCE_STALE_AFTER_DAYS,
)
from gas_publisher.metrics import put_metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient


def reference_day(today: date, until: date | None) -> date:
    """The day the source's age is counted to: today in New York, or the end of `until`'s week when reading as of it."""
    return today if until is None else min(today, until + timedelta(days=6))


def source_age_days(newest: date, day: date) -> int:
    """Days from the source's newest week (its Monday) to the given day."""
    return (day - newest).days


def stale_source_note(newest: date, age: int) -> str:
    """The warning for a source whose newest week is older than the alarm allows; '' when it is fresh enough."""
    if age <= SOURCE_STALE_AFTER_DAYS:
        return ""
    return (
        f"the source's newest week {newest} is {age} days old (its alarm fires after {SOURCE_STALE_AFTER_DAYS}): "
        f"the dataset may have stopped updating or moved; check {DATASET_PAGE_URL}"
    )


def put_heartbeat(client: CloudWatchClient, table: str, age: int) -> None:
    """Record a completed check and the source's age, in one PutMetricData call."""
    put_metrics(client, table, {METRIC_CHECK_SUCCEEDED: 1, METRIC_SOURCE_AGE_DAYS: age})
