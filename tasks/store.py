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
    """What a check wrote; `conflict` means another run changed the table first and nothing was written."""

    written: list[date] = field(default_factory=list)
    revised: list[date] = field(default_factory=list)
    alerting: WeekRecord | None = None
    conflict: bool = False


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
    """Write the plan's new weeks and revisions all or nothing, each conditional on what was read."""
    logger = run_logger()
    if not price_table(table_name, credentials_block).write_check(plan.writes, plan.revisions, seen_at):
        logger.info("Another run changed the table since it was read; nothing written")
        return WriteResult(conflict=True)
    for revision in plan.revisions:
        changes = ", ".join(f"{r} {revision.old.get(r, '-')} → {p}" for r, p in sorted(revision.new.items()))
        logger.warning("The source revised %s: %s", revision.week, changes)
    newest = plan.newest
    return WriteResult(
        written=[record.week for record in plan.writes],
        revised=[revision.week for revision in plan.revisions],
        alerting=newest if newest is not None and newest.alert else None,
    )
