"""Tasks of the backfill: read the whole history, read what is stored, plan, record revisions, write in batches."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from typing import cast
from uuid import UUID

from prefect import task
from prefect.cache_policies import NONE
from prefect.context import FlowRunContext, TaskRunContext

from gas_alerts.backfill import (
    BackfillPlan,
    apply_revisions,
    describe_revision,
    load_history,
    plan_backfill,
    report_progress,
    write_weeks,
)
from gas_alerts.compare import Revision
from gas_alerts.logs import run_logger
from gas_alerts.prices import WeekPrices
from gas_alerts.settings import Settings
from gas_alerts.source import is_url
from gas_publisher.week import WeekRecord
from tasks.fetch import source_unavailable
from tasks.store import price_table

PROGRESS_ARTIFACT_KEY = "gas-prices-backfill-progress"
# Each artifact update is an API call to Prefect; a few per second are plenty for a person watching.
ARTIFACT_UPDATE_INTERVAL = 0.5


@task(
    name="fetch-history",
    retries=2,
    retry_delay_seconds=[30, 120],
    retry_condition_fn=source_unavailable,
    cache_policy=NONE,
)
def fetch_history(source: str, since: date | None) -> list[WeekPrices]:
    """Fetch every week from `since` on (all by default), paging through the API, and validate every row."""
    weeks = load_history(source, since=since, app_token=Settings.from_environment().app_token)
    where = "the Socrata API" if is_url(source) else source
    run_logger().info("Fetched %d valid weeks (%s → %s) from %s", len(weeks), weeks[0].week, weeks[-1].week, where)
    return weeks


@task(name="read-stored-history", retries=2, retry_delay_seconds=[5, 30], cache_policy=NONE)
def read_stored_history(table_name: str, credentials_block: str | None = None) -> list[WeekRecord]:
    """Every stored week, through the paged Query (never a Scan)."""
    return list(price_table(table_name, credentials_block).all_weeks())


@task(name="plan-backfill", cache_policy=NONE)
def plan_history(
    history: Sequence[WeekPrices], stored: Sequence[WeekRecord], since: date | None, recorded_at: str
) -> BackfillPlan:
    """Plan the missing weeks as silent items, and the revisions of stored weeks."""
    return plan_backfill(history, stored, since=since, recorded_at=recorded_at)


@task(name="record-revisions", cache_policy=NONE)
def record_revisions(
    revisions: Sequence[Revision], table_name: str, seen_at: str, credentials_block: str | None = None
) -> list[date]:
    """Update each revised stored week, keeping its old values in its revision log."""
    revised = apply_revisions(price_table(table_name, credentials_block), revisions, seen_at)
    logger = run_logger()
    for revision in revisions:
        if revision.week in revised:
            logger.warning("The source revised %s", describe_revision(revision))
        else:
            logger.info("Week %s changed since it was read; its revision is left for the next run", revision.week)
    return revised


@task(name="write-history", cache_policy=NONE)
def write_history(records: Sequence[WeekRecord], table_name: str, credentials_block: str | None = None) -> int:
    """Write the missing weeks in batches of 25, oldest first, showing progress; returns BatchWriteItem calls."""
    progress = WriteProgress(len(records))
    calls = write_weeks(price_table(table_name, credentials_block), records, progress.advance)
    progress.finish()
    run_logger().info("Wrote %d weeks in %d BatchWriteItem calls", len(records), calls)
    return calls


class WriteProgress:
    """Progress of the writes: to terminal listeners always, and to a Prefect progress artifact inside a run."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self._shown_at = time.monotonic()
        self._artifact: UUID | None = None
        if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
            from prefect.artifacts import create_progress_artifact

            # Called from sync code, Prefect's dual sync/async function returns the id, not a coroutine.
            self._artifact = cast(
                "UUID",
                create_progress_artifact(
                    0.0 if total else 100.0,
                    key=PROGRESS_ARTIFACT_KEY,
                    description=f"Backfill: writing {total} weeks to the price table",
                ),
            )
        report_progress(0, total)

    @property
    def percent(self) -> float:
        """How much is written, 0 to 100."""
        return 100.0 * self.done / self.total if self.total else 100.0

    def advance(self, written: int) -> None:
        """Count a written batch."""
        self.done += written
        report_progress(self.done, self.total)
        if time.monotonic() - self._shown_at >= ARTIFACT_UPDATE_INTERVAL:
            self._update_artifact()

    def finish(self) -> None:
        """Show the final figure."""
        self._update_artifact()

    def _update_artifact(self) -> None:
        self._shown_at = time.monotonic()
        if self._artifact is not None:
            from prefect.artifacts import update_progress_artifact

            update_progress_artifact(self._artifact, self.percent)
