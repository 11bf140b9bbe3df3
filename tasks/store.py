"""Tasks that read and write the price table."""

from __future__ import annotations

from typing import Any

from prefect import Task, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import State, TaskRun

from gas_alerts import aws
from gas_alerts.compare import CheckPlan
from gas_alerts.failures import is_permanent
from gas_alerts.store import PriceTable, WriteResult
from gas_publisher.week import WeekRecord
from tasks.logs import run_logger


def transient_only(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry a read only when a retry can help: never for missing credentials or table, denial, or a bad item."""
    error = state.data if isinstance(state.data, BaseException) else None
    return error is None or not is_permanent(error)


# Reads of the table retry twice, after 5 s and then 30 s, unless the failure is permanent.
TABLE_READ: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": [5, 30],
    "retry_condition_fn": transient_only,
    "cache_policy": NONE,
}


def price_table(table_name: str, credentials_block: str | None) -> PriceTable:
    """The price table, reached with the named credentials block or the standard chain."""
    return PriceTable(aws.dynamodb(credentials_block), table_name)


@task(name="read-stored-weeks", **TABLE_READ)
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
        if revision.changes_prices:
            logger.warning("The source revised %s", revision.describe())
        else:
            logger.info("Updated %s", revision.describe())
    return result
