"""Tasks that read and write the price table."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE

from gas_alerts import aws
from gas_alerts.compare import CheckPlan
from gas_alerts.store import PriceTable, WriteResult
from gas_publisher.week import WeekRecord
from tasks.logs import run_logger


def price_table(table_name: str, credentials_block: str | None) -> PriceTable:
    """The price table, reached with the named credentials block or the standard chain."""
    return PriceTable(aws.dynamodb(credentials_block), table_name)


@task(name="read-stored-weeks", retries=2, retry_delay_seconds=[5, 30], cache_policy=NONE)
def read_stored_weeks(table_name: str, limit: int, credentials_block: str | None = None) -> list[WeekRecord]:
    """The newest stored weeks, in one Query (the weeks before the new one, for its comparison and low weeks)."""
    return price_table(table_name, credentials_block).recent_weeks(limit)


@task(name="write-new-weeks", cache_policy=NONE)
def write_new_weeks(
    plan: CheckPlan, table_name: str, seen_at: str, credentials_block: str | None = None
) -> WriteResult:
    """Write the plan's new weeks and revisions all or nothing, each conditional on what was read."""
    result = price_table(table_name, credentials_block).write_check(plan, seen_at)
    logger = run_logger()
    if result.conflict:
        logger.info("Another run changed the table since it was read; nothing written")
        return result
    for revision in plan.revisions:
        logger.warning("The source revised %s", revision.describe())
    return result
