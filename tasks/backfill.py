"""Tasks of the backfill: read the whole history, read what is stored, plan, record revisions, write in batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from prefect import task
from prefect.cache_policies import NONE

from gas_alerts.compare import BackfillPlan, plan_backfill
from gas_alerts.prices import WeekPrices
from gas_alerts.settings import Settings
from gas_alerts.source import is_url, load_history
from gas_alerts.store import PutOutcome
from gas_publisher.week import Revision, WeekRecord
from tasks.fetch import SOURCE_READ
from tasks.logs import run_logger
from tasks.progress import WriteProgress
from tasks.store import TABLE_READ, price_table


@task(name="fetch-history", **SOURCE_READ)
def fetch_history(source: str, since: date | None) -> list[WeekPrices]:
    """Fetch every week from `since` on (all by default), paging through the API, and validate every row."""
    weeks = load_history(source, since=since, app_token=Settings.from_environment().source_token())
    where = "the Socrata API" if is_url(source) else source
    run_logger().info("Fetched %d valid weeks (%s → %s) from %s", len(weeks), weeks[0].week, weeks[-1].week, where)
    return weeks


@task(name="read-stored-history", **TABLE_READ)
def read_stored_history(table_name: str, credentials_block: str | None = None) -> list[WeekRecord]:
    """Every stored week, through the paged Query (never a Scan)."""
    return list(price_table(table_name, credentials_block).all_weeks())


@task(name="plan-backfill", cache_policy=NONE)
def plan_history(
    history: Sequence[WeekPrices],
    stored: Sequence[WeekRecord],
    since: date | None,
    recorded_at: str,
    allow_older: bool = False,
) -> BackfillPlan:
    """Plan the missing weeks as silent items, and the revisions of stored weeks (none from an older source)."""
    return plan_backfill(history, stored, since=since, recorded_at=recorded_at, allow_older=allow_older)


@task(name="record-revisions", cache_policy=NONE)
def record_revisions(
    revisions: Sequence[Revision], table_name: str, seen_at: str, credentials_block: str | None = None
) -> list[date]:
    """Update each revised stored week (old values kept in its log) and the comparison of the week after it.

    Returns the weeks whose own values the source revised.
    """
    applied = price_table(table_name, credentials_block).apply_revisions(revisions, seen_at)
    logger = run_logger()
    for revision in revisions:
        if revision.week not in applied:
            logger.info("Week %s changed since it was read; its revision is left for the next run", revision.week)
        elif revision.changes_prices:
            logger.warning("The source revised %s", revision.describe())
    return [revision.week for revision in revisions if revision.week in applied and revision.changes_prices]


@task(name="write-history", cache_policy=NONE)
def write_history(records: Sequence[WeekRecord], table_name: str, credentials_block: str | None = None) -> PutOutcome:
    """Write the missing weeks, each only if it is still missing, oldest first, showing progress."""
    progress = WriteProgress(len(records))
    outcome = price_table(table_name, credentials_block).put_weeks(records, progress.advance)
    progress.finish()
    logger = run_logger()
    logger.info("Wrote %d weeks in %d TransactWriteItems calls", len(outcome.written), outcome.calls)
    if outcome.already_stored:
        logger.info(
            "%d weeks were stored meanwhile by another run and were left as they are", len(outcome.already_stored)
        )
    return outcome
