"""Tasks that read and write the price table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from prefect import task
from prefect.cache_policies import NONE

from gas_alerts import aws
from gas_alerts.compare import CheckPlan
from gas_alerts.logs import run_logger
from gas_alerts.store import PriceTable
from gas_publisher.week import WeekRecord


@dataclass(frozen=True)
class WriteResult:
    """What a check actually wrote."""

    written: list[date] = field(default_factory=list)
    already_stored: list[date] = field(default_factory=list)
    revised: list[date] = field(default_factory=list)
    alerting: WeekRecord | None = None


def price_table(table_name: str, credentials_block: str | None) -> PriceTable:
    """The price table, reached with the named credentials block or the standard chain."""
    return PriceTable(aws.dynamodb(credentials_block), table_name)


@task(name="read-stored-weeks", retries=2, retry_delay_seconds=[5, 30], cache_policy=NONE)
def read_stored_weeks(table_name: str, limit: int, credentials_block: str | None = None) -> list[WeekRecord]:
    """The newest stored weeks, in one Query."""
    return price_table(table_name, credentials_block).recent_weeks(limit)


@task(name="write-new-weeks", cache_policy=NONE)
def write_new_weeks(
    plan: CheckPlan, table_name: str, seen_at: str, credentials_block: str | None = None
) -> WriteResult:
    """Apply revisions, then put each new week in date order with a condition that it is not stored yet."""
    table = price_table(table_name, credentials_block)
    logger = run_logger()
    result = WriteResult()
    for revision in plan.revisions:
        if table.apply_revision(revision, seen_at):
            result.revised.append(revision.week)
            changes = ", ".join(f"{r} {revision.old.get(r, '-')} → {p}" for r, p in sorted(revision.new.items()))
            logger.warning("The source revised %s: %s", revision.week, changes)
    for record in plan.writes:
        if table.put_new_week(record):
            result.written.append(record.week)
        else:
            result.already_stored.append(record.week)
            logger.info("Week %s was already stored by another run; nothing written", record.week)
    newest = plan.newest
    alerting = newest if newest and newest.alert and newest.week in result.written else None
    return WriteResult(result.written, result.already_stored, result.revised, alerting)
