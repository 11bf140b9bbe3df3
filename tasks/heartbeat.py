"""The task that reports a completed check to CloudWatch: the operator's alarms watch what it puts."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE

from gas_alerts import aws
from gas_alerts.heartbeat import put_heartbeat


# No task retries: the client already retries throttling and 5xx, and a refusal (a policy without the call) is
# permanent; the run then fails with its line, after its writes, and the alarm tells the operator anyway.
@task(name="report-heartbeat", cache_policy=NONE)
def report_heartbeat(table_name: str, source_age_days: int, credentials_block: str | None = None) -> None:
    """Put CheckSucceeded and SourceAgeDays for this table's stack, in one PutMetricData call."""
    put_heartbeat(aws.cloudwatch(credentials_block), table_name, source_age_days)
