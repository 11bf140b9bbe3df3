"""The task that reads the data source and validates what it returned."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import Task, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import State, TaskRun

from gas_alerts.prices import WeekPrices
from gas_alerts.settings import Settings
from gas_alerts.source import SourceUnavailableError, is_url, read_weeks
from tasks.logs import run_logger


def source_unavailable(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry the task only when the source was unreachable, never when its data was bad."""
    return isinstance(state.data, SourceUnavailableError)


# Both reads of the source retry alike: twice, after 30 s and then 120 s, and only when it was unreachable.
SOURCE_READ: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": [30, 120],
    "retry_condition_fn": source_unavailable,
    "cache_policy": NONE,
}


def fetch_weeks(
    source: str, lookback_weeks: int, *, today: date | None = None, until: date | None = None
) -> list[WeekPrices]:
    """Read the source with the environment's app token; its newest `lookback_weeks` valid weeks, oldest first.

    With `until`, the source is read as it stood at the end of that week: later weeks are left out.
    """
    token = Settings.from_environment().source_token()
    return read_weeks(source, lookback_weeks, app_token=token, today=today, until=until)


@task(name="fetch-prices", **SOURCE_READ)
def fetch_prices(source: str, lookback_weeks: int, until: date | None = None) -> list[WeekPrices]:
    """Fetch the newest weeks (the API's newest rows, or a whole CSV export) and validate every row."""
    weeks = fetch_weeks(source, lookback_weeks, until=until)
    where = "the Socrata API" if is_url(source) else source
    run_logger().info("Fetched %d valid weeks up to %s from %s", len(weeks), weeks[-1].week, where)
    return weeks
